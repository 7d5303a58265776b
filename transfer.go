package tenantmap

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/tenantmap/tenantmap/dialect"
)

// ErrInvalidExport: an export file is malformed, truncated, or does not fit
// the registered models (another migration version, other columns).
var ErrInvalidExport = errors.New("tenantmap: invalid export")

// ExportFormat is the first line's format marker of an export file, and
// ExportVersion its version.
const (
	ExportFormat  = "tenantmap-export"
	ExportVersion = 1
)

// exportHeader is an export file's first line.
type exportHeader struct {
	Format           string    `json:"format"`
	Version          int       `json:"version"`
	Tenant           string    `json:"tenant"`
	MigrationVersion int64     `json:"schema_version"`
	ExportedAt       time.Time `json:"exported_at"`
	Source           string    `json:"source"` // the dialect it was exported from
	// Custom holds the tenant's custom fields by model, ids included, so
	// that a shared table's JSON column reads the same in the new home.
	Custom map[string][]customField `json:"custom,omitempty"`
}

// exportModel begins a model's rows; exportEnd ends them, and the file.
type exportModel struct {
	Model   string         `json:"model"`
	Columns []exportColumn `json:"columns"`
}

type exportColumn struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
}

type exportEnd struct {
	End  any   `json:"end"` // the model's name, or true at the end of the file
	Rows int64 `json:"rows"`
}

// TransferStats counts what Export wrote or Import read.
type TransferStats struct {
	Models int
	Rows   int64
}

// exportPage is how many rows Export reads at a time, in key order.
const exportPage = 1000

// Export writes every row of every registered model of one tenant to w, as
// JSON lines, streaming: a header line (the tenant, its migration version),
// then for each model a line naming it and its columns, one JSON array per
// row, and a line with its row count; a last line ends the file, so a
// truncated file is refused on import. Values are JSON numbers, strings and
// booleans; times are RFC 3339 strings in UTC, bytes base64 strings, JSON
// columns JSON values, NULL null. Rows are read in key order in one
// read-only snapshot per database the tenant's tables are in, so the
// export is consistent while the tenant is in use. Suspended tenants can
// be exported; dropped ones cannot.
func (ts *Tenants) Export(ctx context.Context, id string, w io.Writer) (TransferStats, error) {
	st, err := ts.export(ctx, id, w)
	return st, opError("export tenant", id, "", err)
}

func (ts *Tenants) export(ctx context.Context, id string, w io.Writer) (TransferStats, error) {
	db := ts.db
	var st TransferStats
	if err := ValidateTenantID(id); err != nil {
		return st, err
	}
	rec, err := db.cat.read(ctx, db.be, id)
	if err != nil {
		return st, err
	}
	if rec.Status == StatusDropped {
		return st, fmt.Errorf("%w: %q is dropped", ErrTenantNotFound, id)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	hdr := exportHeader{Format: ExportFormat, Version: ExportVersion, Tenant: id, MigrationVersion: rec.MigrationVersion,
		ExportedAt: time.Now().UTC().Truncate(time.Microsecond), Source: db.dialect.Name()}
	placements, err := db.cat.placements(ctx, db.be, id)
	if err != nil {
		return st, err
	}
	for model, p := range placements {
		custom, err := parseCustom(p.fields)
		if err != nil {
			return st, err
		}
		if custom = live(custom); len(custom) > 0 {
			if hdr.Custom == nil {
				hdr.Custom = map[string][]customField{}
			}
			hdr.Custom[model] = custom
		}
	}
	if err := enc.Encode(hdr); err != nil {
		return st, err
	}
	// One snapshot transaction per database the tenant's tables are in.
	txs := map[string]txBackend{}
	defer func() {
		for _, tx := range txs {
			_ = tx.rollback(context.WithoutCancel(ctx))
		}
	}()
	snap := withSnapshot(ctx)
	for _, b := range db.snapshotBindings() {
		mp, _, err := db.resolveMapping(ctx, db.be, rec, b)
		if err != nil {
			return st, fmt.Errorf("model %s: %w", b.model.name, err)
		}
		tx := txs[mp.database]
		if tx == nil {
			if tx, err = db.backendFor(id, mp.database).begin(snap); err != nil {
				return st, err
			}
			txs[mp.database] = tx
		}
		n, err := db.exportModel(ctx, tx, mp, enc)
		if err != nil {
			return st, fmt.Errorf("model %s: %w", b.model.name, err)
		}
		st.Models++
		st.Rows += n
	}
	if err := enc.Encode(exportEnd{End: true, Rows: st.Rows}); err != nil {
		return st, err
	}
	return st, bw.Flush()
}

// exportModel writes one model's section, reading its rows a page at a
// time in key order.
func (db *DB) exportModel(ctx context.Context, q querier, mp *mapping, enc *json.Encoder) (int64, error) {
	m := mp.model
	hdr := exportModel{Model: m.name}
	for _, f := range m.fields {
		hdr.Columns = append(hdr.Columns, exportColumn{Name: f.column, Kind: f.kind.String()})
	}
	if err := enc.Encode(hdr); err != nil {
		return 0, err
	}
	d := db.dialect
	var total int64
	var last any
	dests := make([]any, len(m.fields))
	line := make([]byte, 0, 256)
	for {
		b := append([]byte(nil), mp.selectSQL...)
		args := mp.tenantArgs()
		if last != nil {
			if mp.shared {
				b = append(b, " AND "...)
			} else {
				b = append(b, " WHERE "...)
			}
			b = d.AppendIdent(b, m.pk.column)
			b = append(b, '>')
			args = append(args, last)
			b = d.AppendPlaceholder(b, len(args))
		}
		b = append(b, " ORDER BY "...)
		b = d.AppendIdent(b, m.pk.column)
		b = d.AppendLimit(b, exportPage, 0)
		r, err := q.query(ctx, string(b), args...)
		if err != nil {
			return total, err
		}
		n := 0
		for r.Next() {
			for i, f := range m.fields {
				dests[i] = scanDest(f.kind)
			}
			if err := r.Scan(dests...); err != nil {
				r.Close()
				return total, err
			}
			if line, err = appendRow(line[:0], m, dests); err != nil {
				r.Close()
				return total, err
			}
			if err := enc.Encode(json.RawMessage(line)); err != nil {
				r.Close()
				return total, err
			}
			last = keyOf(dests[0])
			n++
		}
		r.Close()
		if err := r.Err(); err != nil {
			return total, err
		}
		total += int64(n)
		if n < exportPage {
			break
		}
	}
	return total, enc.Encode(exportEnd{End: m.name, Rows: total})
}

// scanDest is where a column of kind k scans to, whatever the driver.
func scanDest(k dialect.Kind) any {
	switch k {
	case dialect.Bool:
		return new(sql.NullBool)
	case dialect.Int16, dialect.Int32, dialect.Int64:
		return new(sql.NullInt64)
	case dialect.Float32, dialect.Float64:
		return new(sql.NullFloat64)
	case dialect.Time:
		return new(sql.NullTime)
	case dialect.Bytes, dialect.JSON:
		return new([]byte)
	default:
		return new(sql.NullString)
	}
}

func keyOf(dest any) any {
	switch v := dest.(type) {
	case *sql.NullInt64:
		return v.Int64
	case *sql.NullString:
		return v.String
	}
	return nil
}

// appendRow appends a scanned row as a JSON array.
func appendRow(b []byte, m *Model, dests []any) ([]byte, error) {
	b = append(b, '[')
	for i, f := range m.fields {
		if i > 0 {
			b = append(b, ',')
		}
		switch v := dests[i].(type) {
		case *sql.NullBool:
			if !v.Valid {
				b = append(b, "null"...)
				break
			}
			b = strconv.AppendBool(b, v.Bool)
		case *sql.NullInt64:
			if !v.Valid {
				b = append(b, "null"...)
				break
			}
			b = strconv.AppendInt(b, v.Int64, 10)
		case *sql.NullFloat64:
			if !v.Valid {
				b = append(b, "null"...)
				break
			}
			if math.IsNaN(v.Float64) || math.IsInf(v.Float64, 0) {
				return nil, fmt.Errorf("column %s: %v has no JSON form", f.column, v.Float64)
			}
			b = strconv.AppendFloat(b, v.Float64, 'g', -1, 64)
		case *sql.NullTime:
			if !v.Valid {
				b = append(b, "null"...)
				break
			}
			b = strconv.AppendQuote(b, v.Time.UTC().Format(time.RFC3339Nano))
		case *sql.NullString:
			if !v.Valid {
				b = append(b, "null"...)
				break
			}
			s, err := json.Marshal(v.String)
			if err != nil {
				return nil, err
			}
			b = append(b, s...)
		case *[]byte:
			switch {
			case *v == nil:
				b = append(b, "null"...)
			case f.kind == dialect.JSON:
				if !json.Valid(*v) {
					return nil, fmt.Errorf("column %s holds text that is not JSON", f.column)
				}
				var c bytes.Buffer
				if err := json.Compact(&c, *v); err != nil {
					return nil, err
				}
				b = append(b, c.Bytes()...)
			default:
				b = append(b, '"')
				b = base64.StdEncoding.AppendEncode(b, *v)
				b = append(b, '"')
			}
		}
	}
	return append(b, ']'), nil
}

// ImportOption changes how Import makes the tenant.
type ImportOption = CreateOption

// Import creates tenant id (as Create does; opts may place it) and loads an
// Export file into it, all or nothing: if anything fails, the new tenant is
// dropped again. Until every row is in, the tenant is suspended, so no
// call sees it half loaded; an import cut short by a killed process leaves
// it suspended, to be dropped. The file may come from another tenant, another database
// or another dialect, but must be at this program's latest migration
// version, with the registered models' columns. Keys are kept, so rows
// that refer to each other still do; generated-key sequences are moved past
// them. In a shared table whose generated keys are unique across the
// whole table (SQLite, MySQL), rows get new keys instead, and references
// to them in other rows are not rewritten. In a shared table whose tenants
// share a sequence (PostgreSQL), a generated key above half its type's
// range is refused with ErrImportKeyRange, so that one tenant's file
// cannot use up the keys of every other.
func (ts *Tenants) Import(ctx context.Context, id string, r io.Reader, opts ...ImportOption) (TransferStats, error) {
	st, err := ts.importFile(ctx, id, r, opts)
	return st, opError("import tenant", id, "", err)
}

func (ts *Tenants) importFile(ctx context.Context, id string, r io.Reader, opts []ImportOption) (TransferStats, error) {
	db := ts.db
	var st TransferStats
	rd := bufio.NewReaderSize(r, 64<<10)
	lineNo := 0
	next := func() ([]byte, error) {
		line, err := rd.ReadBytes('\n')
		lineNo++
		if err == io.EOF && len(line) > 0 {
			err = nil
		}
		if err == io.EOF {
			return nil, fmt.Errorf("%w: the file ends at line %d without its last line (truncated?)", ErrInvalidExport, lineNo)
		}
		return bytes.TrimSpace(line), err
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: line %d: %s", ErrInvalidExport, lineNo, fmt.Sprintf(format, args...))
	}
	first, err := next()
	if err != nil {
		return st, err
	}
	var hdr exportHeader
	if err := json.Unmarshal(first, &hdr); err != nil || hdr.Format != ExportFormat {
		return st, bad("not a tenantmap export")
	}
	if hdr.Version != ExportVersion {
		return st, bad("export format version %d; this program reads %d", hdr.Version, ExportVersion)
	}
	if latest := db.migrations().latest(); hdr.MigrationVersion != latest {
		return st, bad("the export is at migration version %d, this program's models at %d: migrate the source (or this database) first", hdr.MigrationVersion, latest)
	}
	// Made suspended, so that no call sees it half loaded; resumed once
	// every row is in. An import cut short (a killed process) leaves it
	// suspended: drop it and import again.
	co := createOptionsOf(opts)
	co.suspended = true
	if _, err := ts.create(ctx, id, co); err != nil {
		return st, err
	}
	undo := func(cause error) error {
		if err := ts.drop(context.WithoutCancel(ctx), id, ConfirmDrop(id), true); err != nil {
			return errors.Join(cause, fmt.Errorf("undoing the tenant (drop it to finish): %w", err))
		}
		return cause
	}
	// The custom fields first, in the order they were added, under their
	// ids: the rows below have their columns. The file is checked as
	// AddField checks a field, and its ids as tenantmap makes them: they
	// are written into SQL.
	for model, custom := range hdr.Custom {
		if db.bindingNamed(model) == nil {
			return st, undo(bad("custom fields of model %q, which is not registered here", model))
		}
		for _, c := range custom {
			err := db.changeFields(ctx, "import", id, model, func(base *Model, cur []customField, shared bool) ([]customField, fieldChange, error) {
				if err := checkNewField(base, cur, c.FieldDef, shared); err != nil {
					return nil, fieldChange{}, bad("custom field of %s: %v", model, err)
				}
				if n := idNumber(c.ID, fieldTypes[c.Type]); c.Dropped || n == 0 || n > maxCustomRecords || slices.ContainsFunc(cur, func(x customField) bool { return x.ID == c.ID }) {
					return nil, fieldChange{}, bad("custom field %q of %s: the id %q is not one tenantmap makes, or comes twice", c.Name, model, c.ID)
				}
				return append(slices.Clone(cur), c), fieldChange{add: c.Name}, nil
			})
			if err != nil {
				return st, undo(err)
			}
		}
	}
	rec, err := db.cat.read(ctx, db.be, id)
	if err != nil {
		return st, undo(err)
	}
	// A transaction per database the tenant's tables are in, committed
	// when the whole file has been read.
	txs := map[string]txBackend{}
	var order []string
	rollback := func() {
		for _, tx := range txs {
			_ = tx.rollback(context.WithoutCancel(ctx))
		}
	}
	seen := map[string]bool{}
	for {
		line, err := next()
		if err != nil {
			rollback()
			return st, undo(err)
		}
		var end exportEnd
		if json.Unmarshal(line, &end) == nil && end.End == true {
			if end.Rows != st.Rows {
				rollback()
				return st, undo(bad("the file says %d rows, it holds %d", end.Rows, st.Rows))
			}
			break
		}
		var sec exportModel
		if err := json.Unmarshal(line, &sec); err != nil || sec.Model == "" {
			rollback()
			return st, undo(bad("want a model's first line"))
		}
		b := db.bindingNamed(sec.Model)
		if b == nil || seen[sec.Model] {
			rollback()
			return st, undo(bad("model %q is not registered here, or comes twice", sec.Model))
		}
		seen[sec.Model] = true
		mp, _, err := db.resolveMapping(ctx, db.be, rec, b)
		if err != nil {
			rollback()
			return st, undo(err)
		}
		tx := txs[mp.database]
		if tx == nil {
			if tx, err = db.backendFor(id, mp.database).begin(ctx); err != nil {
				rollback()
				return st, undo(err)
			}
			txs[mp.database] = tx
			order = append(order, mp.database)
		}
		n, err := db.importModel(ctx, tx, mp, sec, next, bad)
		if err != nil {
			rollback()
			return st, undo(fmt.Errorf("model %s: %w", sec.Model, err))
		}
		st.Models++
		st.Rows += n
	}
	for _, database := range order {
		if err := txs[database].commit(ctx); err != nil {
			delete(txs, database)
			rollback()
			return st, undo(err)
		}
		delete(txs, database)
	}
	if err := ts.setStatus(ctx, id, StatusSuspended, StatusActive, nil); err != nil {
		return st, undo(err)
	}
	return st, nil
}

func createOptionsOf(opts []CreateOption) createOptions {
	var o createOptions
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// importModel loads one model's rows, in multi-row inserts.
func (db *DB) importModel(ctx context.Context, q querier, mp *mapping, sec exportModel, next func() ([]byte, error), bad func(string, ...any) error) (int64, error) {
	m := mp.model
	d := db.dialect
	if len(sec.Columns) != len(m.fields) {
		return 0, bad("%d columns, the model has %d", len(sec.Columns), len(m.fields))
	}
	// The file's columns, in the file's order, as the model's fields.
	fields := make([]*field, len(sec.Columns))
	for i, c := range sec.Columns {
		f := m.byCol[c.Name]
		if f == nil || f.kind.String() != c.Kind {
			return 0, bad("column %s (%s) is not the model's", c.Name, c.Kind)
		}
		for _, g := range fields[:i] {
			if g == f {
				return 0, bad("column %s comes twice", c.Name)
			}
		}
		fields[i] = f
	}
	// A generated key unique across a shared table's tenants (SQLite,
	// MySQL) cannot be kept: the rows get new keys.
	renewKeys := mp.shared && m.pk.auto && d.Features()&dialect.TableWideAutoKey != 0
	var cols []*field
	for _, f := range fields {
		if !(renewKeys && f.pk) {
			cols = append(cols, f)
		}
	}
	head := append([]byte("INSERT INTO "), mp.qtable...)
	head = append(head, " ("...)
	for i, f := range cols {
		if i > 0 {
			head = append(head, ',')
		}
		head = d.AppendIdent(head, f.column)
	}
	if mp.shared {
		head = append(head, ',')
		head = d.AppendIdent(head, TenantColumn)
	}
	head = append(head, ") VALUES "...)
	ncols := len(cols) + btoi(mp.shared)
	per := max(1, min(500, maxSQLiteParams/max(1, ncols)))
	var args []any
	var b []byte
	rowsIn := 0
	flush := func() error {
		if rowsIn == 0 {
			return nil
		}
		_, err := q.exec(ctx, string(b), args...)
		args, b, rowsIn = args[:0], b[:0], 0
		return err
	}
	var total int64
	for {
		line, err := next()
		if err != nil {
			return total, err
		}
		if len(line) > 0 && line[0] == '{' {
			var end exportEnd
			if err := json.Unmarshal(line, &end); err != nil || end.End != m.name {
				return total, bad("want the end of model %s", m.name)
			}
			if end.Rows != total {
				return total, bad("model %s: the file says %d rows, it holds %d", m.name, end.Rows, total)
			}
			break
		}
		var vals []json.RawMessage
		if err := json.Unmarshal(line, &vals); err != nil || len(vals) != len(fields) {
			return total, bad("want a row of %d values", len(fields))
		}
		if rowsIn == 0 {
			b = append(b[:0], head...)
		} else {
			b = append(b, ',')
		}
		b = append(b, '(')
		n := 0
		for i, f := range fields {
			if renewKeys && f.pk {
				continue
			}
			v, err := decodeValue(f, vals[i])
			if err != nil {
				return total, bad("%v", err)
			}
			if f.pk && f.auto && mp.shared {
				if err := checkImportedKey(f, v); err != nil {
					return total, err
				}
			}
			if n > 0 {
				b = append(b, ',')
			}
			args = append(args, v)
			b = d.AppendPlaceholder(b, len(args))
			n++
		}
		if mp.shared {
			args = append(args, mp.tenant)
			b = append(b, ',')
			b = d.AppendPlaceholder(b, len(args))
		}
		b = append(b, ')')
		rowsIn++
		total++
		if rowsIn == per {
			if err := flush(); err != nil {
				return total, err
			}
		}
	}
	if err := flush(); err != nil {
		return total, err
	}
	if m.pk.auto && !renewKeys && total > 0 && d.Features()&dialect.CopyFrom != 0 {
		// PostgreSQL's identity sequence does not move past keys inserted
		// as values: move it, never back (other tenants may share it).
		key := dialect.Quote(d, m.pk.column)
		maxKey := "(SELECT max(" + key + ") FROM " + mp.qtable + ")"
		seq := "pg_get_serial_sequence($1, $2)"
		if _, err := q.exec(ctx, "SELECT setval("+seq+", "+maxKey+") WHERE "+maxKey+" > COALESCE(pg_sequence_last_value("+seq+"::regclass), 0)", mp.qtable, m.pk.column); err != nil {
			return total, err
		}
	}
	return total, nil
}

// decodeValue reads one exported value for field f as a bind argument.
func decodeValue(f *field, raw json.RawMessage) (any, error) {
	if string(raw) == "null" {
		if !f.nullable && !f.json {
			return nil, fmt.Errorf("column %s is NOT NULL", f.column)
		}
		return nil, nil
	}
	fail := func(err error) (any, error) { return nil, fmt.Errorf("column %s (%s): %v", f.column, f.kind, err) }
	switch f.kind {
	case dialect.Bool:
		var v bool
		if err := json.Unmarshal(raw, &v); err != nil {
			return fail(err)
		}
		return v, nil
	case dialect.Int16, dialect.Int32, dialect.Int64:
		n, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil {
			return fail(err)
		}
		return n, nil
	case dialect.Float32, dialect.Float64:
		x, err := strconv.ParseFloat(string(raw), 64)
		if err != nil {
			return fail(err)
		}
		return x, nil
	case dialect.Time:
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return fail(err)
		}
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return fail(err)
		}
		return tm.UTC(), nil
	case dialect.Bytes:
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return fail(err)
		}
		v, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return fail(err)
		}
		return v, nil
	case dialect.JSON:
		if !json.Valid(raw) {
			return fail(errors.New("not JSON"))
		}
		return string(raw), nil
	default:
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return fail(err)
		}
		return s, nil
	}
}

// Clone creates tenant dst as a copy of tenant src: dst gets tables of its
// own where its placement puts them (opts may place it, as for Create),
// and every row of src, keys kept. It streams src's Export into dst's
// Import, so src is read in one snapshot while it stays in use, and dst is
// all or nothing. src must be at the latest migration version.
func (ts *Tenants) Clone(ctx context.Context, src, dst string, opts ...CreateOption) (TransferStats, error) {
	if err := ValidateTenantID(src); err != nil {
		return TransferStats{}, opError("clone tenant", src, "", err)
	}
	pr, pw := io.Pipe()
	exported := make(chan error, 1)
	go func() {
		_, err := ts.export(ctx, src, pw)
		pw.CloseWithError(err)
		exported <- err
	}()
	st, err := ts.importFile(ctx, dst, pr, opts)
	pr.CloseWithError(errors.New("tenantmap: the import ended"))
	if eerr := <-exported; eerr != nil && err != nil && errors.Is(err, ErrInvalidExport) {
		err = eerr // the export's failure explains the truncated stream
	}
	return st, opError("clone tenant", dst, "", err)
}
