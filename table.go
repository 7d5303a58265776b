package tenantmap

import (
	"context"
	"fmt"
	"iter"
	"math"
	"reflect"
	"slices"
	"strings"
	"unsafe"

	"github.com/tenantmap/tenantmap/dialect"
)

// Table is a model registered on a DB: typed CRUD and queries on one
// tenant's rows at a time. The tenant comes from the call's context
// (WithTenant) or from For. A Table is safe for concurrent use.
type Table[T any] struct {
	db     *DB
	b      *binding
	tenant string
}

// Model returns the table's compiled model.
func (t *Table[T]) Model() *Model { return t.b.model }

// For returns the table bound to one tenant explicitly. Its calls fail with
// ErrTenantMismatch if their context carries a different tenant.
func (t *Table[T]) For(tenant string) *Table[T] {
	c := *t
	c.tenant = tenant
	return &c
}

// target resolves the call's tenant, mapping and connection (the context's
// transaction if it has one).
func (t *Table[T]) target(ctx context.Context) (*mapping, querier, error) {
	id, err := tenantOf(ctx, t.tenant)
	if err != nil {
		return nil, nil, err
	}
	tx := txFrom(ctx, t.db)
	if tx != nil && tx.tenant != id {
		return nil, nil, fmt.Errorf("%w: the transaction is tenant %q's, the call is for %q", ErrTenantMismatch, tx.tenant, id)
	}
	mp, err := t.db.mappingFor(ctx, tx, t.b, id)
	if err != nil {
		return nil, nil, err
	}
	if tx != nil {
		if mp.database != tx.database {
			return nil, nil, fmt.Errorf("%w: tenant %q's %s is in another database than its transaction", ErrInvalidQuery, id, mp.model.name)
		}
		return mp, tx.be, nil
	}
	if mp.own != nil {
		return mp, mp.own, nil
	}
	if mp.shared && mp.database == "" {
		return mp, t.db.sharedBackend(id), nil
	}
	return mp, t.db.backendFor(id, mp.database), nil
}

func (t *Table[T]) fail(op string, ctx context.Context, err error) error {
	id := t.tenant
	if id == "" {
		id, _ = TenantFrom(ctx)
	}
	return opError(op, id, t.b.model.name, invalidStatement(err))
}

// keyArg checks a key passed to Get or Delete against the model's key and
// returns the value to bind. The server would cast a mismatch (MariaDB
// reads "1 OR 1=1" as 1 for an integer key), so only values that mean one
// key on every database pass: a Go integer of any size, in the key's range,
// for an integer key; a string (or a string type) for a string key; a
// string in UUID form for a UUID key (lower-cased where the model is
// defined at run time and stores the text). Anything else is
// ErrInvalidKey, before any SQL.
func keyArg(m *Model, key any) (any, error) {
	pk := m.pk
	bad := func(why string, args ...any) error {
		return fmt.Errorf("%w: %s's key %s is %s; %s", ErrInvalidKey, m.name, pk.column, pk.kind, fmt.Sprintf(why, args...))
	}
	if key == nil {
		return nil, bad("got nil")
	}
	v := reflect.ValueOf(key)
	switch pk.kind {
	case dialect.Int16, dialect.Int32, dialect.Int64:
		var n int64
		switch v.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			n = v.Int()
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
			u := v.Uint()
			if u > math.MaxInt64 {
				return nil, bad("%d is out of its range", u)
			}
			n = int64(u)
		default:
			return nil, bad("got %T %v: pass an integer", key, key)
		}
		lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
		switch pk.kind {
		case dialect.Int16:
			lo, hi = math.MinInt16, math.MaxInt16
		case dialect.Int32:
			lo, hi = math.MinInt32, math.MaxInt32
		}
		if n < lo || n > hi {
			return nil, bad("%d is out of its range", n)
		}
		return n, nil
	case dialect.String, dialect.UUID:
		if v.Kind() != reflect.String {
			return nil, bad("got %T %v: pass a string", key, key)
		}
		s := v.String()
		if pk.kind == dialect.UUID {
			if !isUUID(s) {
				return nil, bad("%q is not a UUID (8-4-4-4-12 hex digits)", s)
			}
			if pk.bag {
				s = strings.ToLower(s)
			}
		}
		return s, nil
	}
	return nil, bad("unsupported key kind")
}

// retryStale reports whether a call that failed with err runs again: err
// says its statement named a table or column the tenant's database does not
// have, as when the mapping was built before another process changed the
// tenant; the call is outside a transaction (where the failed statement
// aborted it, and a retry is not safe); and this was its first try. A
// statement refused for an unknown name changed nothing. The tenant's
// mappings are dropped, so the retry builds them anew from the catalog.
func (t *Table[T]) retryStale(ctx context.Context, mp *mapping, try int, err error) bool {
	if try > 0 || err == nil || !isUndefinedObject(err) || txFrom(ctx, t.db) != nil {
		return false
	}
	t.db.reg.InvalidateTenant(mp.tenant)
	return true
}

// scanRecord scans one row of the model's columns into the record at base.
func scanRecord(m *Model, r interface{ Scan(...any) error }, base unsafe.Pointer) error {
	if m.hasBag {
		return scanDynamic(m, r, base)
	}
	// The destinations escape (Scan is a method of an interface): a slice
	// of the model's pool, not one allocated per row.
	p := m.dests.Get().(*[]any)
	dests := *p
	var raws [][]byte
	if m.hasJSON {
		raws = make([][]byte, len(m.fields))
	}
	for i, f := range m.fields {
		var raw *[]byte
		if f.json {
			raw = &raws[i]
		}
		dests[i] = f.dest(base, raw)
	}
	err := r.Scan(dests...)
	clear(dests) // holds no pointer into the record once back in the pool
	m.dests.Put(p)
	if err != nil {
		return err
	}
	if m.hasJSON {
		for i, f := range m.fields {
			if f.json {
				if err := f.decode(base, raws[i]); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// Get returns the row whose key is key, or an error matching ErrNotFound
// (and sql.ErrNoRows).
func (t *Table[T]) Get(ctx context.Context, key any) (*T, error) {
	for try := 0; ; try++ {
		mp, q, err := t.target(ctx)
		if err != nil {
			return nil, t.fail("get", ctx, err)
		}
		v := new(T)
		key, err := keyArg(mp.model, key)
		if err != nil {
			return nil, t.fail("get", ctx, err)
		}
		var r row
		if mp.shared {
			r = q.queryRow(ctx, mp.getSQL, mp.tenant, key)
		} else {
			r = q.queryRow(ctx, mp.getSQL, key)
		}
		if err := scanRecord(mp.model, r, unsafe.Pointer(v)); err != nil {
			if t.retryStale(ctx, mp, try, err) {
				continue
			}
			if isNoRows(err) {
				err = fmt.Errorf("%w: no %s with key %v", ErrNotFound, mp.model.name, key)
			}
			return nil, t.fail("get", ctx, err)
		}
		return v, nil
	}
}

// insertArgs applies defaults and returns the insert's arguments: every
// column but a generated key.
func insertArgs(m *Model, base unsafe.Pointer, args []any) ([]any, error) {
	for _, f := range m.fields {
		if f.auto {
			continue
		}
		if f.def != nil {
			f.applyDefault(base)
		}
		a, err := f.arg(base)
		if err != nil {
			return nil, err
		}
		args = append(args, a)
	}
	return args, nil
}

func checkKey(m *Model, base unsafe.Pointer) error {
	if !m.pk.auto {
		if m.pk.isZero(base) {
			return fmt.Errorf("%w: %s's key %s is empty; it is set by the caller", ErrInvalidQuery, m.name, m.pk.goName)
		}
	}
	return nil
}

// Insert adds v to the tenant's table. A generated key is written back
// into v; fields with a default that are zero get the default.
func (t *Table[T]) Insert(ctx context.Context, v *T) error {
	for try := 0; ; try++ {
		mp, q, err := t.target(ctx)
		if err != nil {
			return t.fail("insert", ctx, err)
		}
		m, base := mp.model, unsafe.Pointer(v)
		if err := checkKey(m, base); err != nil {
			return t.fail("insert", ctx, err)
		}
		if err := m.validate(base, true, nil); err != nil {
			return t.fail("insert", ctx, err)
		}
		var small [16]any
		args, err := insertArgs(m, base, small[:0])
		if err != nil {
			return t.fail("insert", ctx, err)
		}
		if mp.shared {
			args = append(args, mp.tenant)
		}
		switch {
		case !m.pk.auto:
			_, err = q.exec(ctx, mp.insertSQL, args...)
		case m.pk.bag:
			var id int64
			if t.db.dialect.Features()&dialect.Returning != 0 {
				err = q.queryRow(ctx, mp.insertSQL, args...).Scan(&id)
			} else {
				id, err = q.(lastIDExecer).execLastID(ctx, mp.insertSQL, args...)
			}
			if err == nil {
				setInt(m.pk, base, id)
			}
		case t.db.dialect.Features()&dialect.Returning != 0:
			err = q.queryRow(ctx, mp.insertSQL, args...).Scan(m.pk.dest(base, nil))
		default:
			var id int64
			if id, err = q.(lastIDExecer).execLastID(ctx, mp.insertSQL, args...); err == nil {
				setInt(m.pk, base, id)
			}
		}
		if t.retryStale(ctx, mp, try, err) {
			continue
		}
		return t.fail("insert", ctx, err)
	}
}

// Update writes every column of v to the row with v's key; ErrNotFound if
// there is none.
func (t *Table[T]) Update(ctx context.Context, v *T) error {
	for try := 0; ; try++ {
		mp, q, err := t.target(ctx)
		if err != nil {
			return t.fail("update", ctx, err)
		}
		m, base := mp.model, unsafe.Pointer(v)
		if err := m.validate(base, false, nil); err != nil {
			return t.fail("update", ctx, err)
		}
		var small [16]any
		args := small[:0]
		for _, f := range m.fields[1:] {
			a, err := f.arg(base)
			if err != nil {
				return t.fail("update", ctx, err)
			}
			args = append(args, a)
			for i := 1; f.packed != nil && i < mp.packedUses; i++ {
				args = append(args, a)
			}
		}
		key, _ := m.pk.arg(base)
		args = append(args, key)
		if mp.shared {
			args = append(args, mp.tenant)
		}
		n, err := q.exec(ctx, mp.updateSQL, args...)
		if t.retryStale(ctx, mp, try, err) {
			continue
		}
		if err == nil && n == 0 {
			err = fmt.Errorf("%w: no %s with key %v", ErrNotFound, m.name, key)
		}
		return t.fail("update", ctx, err)
	}
}

// UpdateColumns writes only the named columns of v to the row with v's key.
func (t *Table[T]) UpdateColumns(ctx context.Context, v *T, columns ...string) error {
	for try := 0; ; try++ {
		mp, q, err := t.target(ctx)
		if err != nil {
			return t.fail("update", ctx, err)
		}
		m, base := mp.model, unsafe.Pointer(v)
		if len(columns) == 0 {
			return t.fail("update", ctx, fmt.Errorf("%w: no columns to update", ErrInvalidQuery))
		}
		d := t.db.dialect
		b := append(make([]byte, 0, 128), "UPDATE "...)
		b = append(b, mp.qtable...)
		b = append(b, " SET "...)
		fields := make([]*field, 0, len(columns))
		for i, c := range columns {
			f := m.byCol[c]
			if f == nil || f.pk || f.packed != nil || slices.Contains(columns[:i], c) {
				return t.fail("update", ctx, fmt.Errorf("%w: %q is not an updatable column of %s, or is named twice", ErrInvalidQuery, c, m.name))
			}
			fields = append(fields, f)
		}
		if err := m.validate(base, false, fields); err != nil {
			return t.fail("update", ctx, err)
		}
		args := make([]any, 0, len(columns)+1)
		var members []*field // a shared table's custom fields, set in its JSON column
		for _, f := range fields {
			if f.in != nil {
				members = append(members, f)
				continue
			}
			a, err := f.arg(base)
			if err != nil {
				return t.fail("update", ctx, err)
			}
			args = append(args, a)
			if len(args) > 1 {
				b = append(b, ',')
			}
			b = d.AppendIdent(b, f.column)
			b = append(b, '=')
			b = d.AppendPlaceholder(b, len(args))
		}
		if len(members) > 0 {
			in := members[0].in
			obj, err := packFields(in, members, members[0].values(base))
			if err != nil {
				return t.fail("update", ctx, err)
			}
			if len(args) > 0 {
				b = append(b, ',')
			}
			col := dialect.Quote(d, in.column)
			b = append(b, col...)
			b = append(b, '=')
			b = d.AppendJSONSet(b, col, packedKeys(members), func(b []byte) []byte {
				args = append(args, obj)
				return d.AppendPlaceholder(b, len(args))
			})
		}
		key, _ := m.pk.arg(base)
		args = append(args, key)
		b = append(b, " WHERE "...)
		b = d.AppendIdent(b, m.pk.column)
		b = append(b, '=')
		b = d.AppendPlaceholder(b, len(args))
		if mp.shared {
			args = append(args, mp.tenant)
			b = append(b, " AND "...)
			b = d.AppendIdent(b, TenantColumn)
			b = append(b, '=')
			b = d.AppendPlaceholder(b, len(args))
		}
		n, err := q.exec(ctx, string(b), args...)
		if t.retryStale(ctx, mp, try, err) {
			continue
		}
		if err == nil && n == 0 {
			err = fmt.Errorf("%w: no %s with key %v", ErrNotFound, m.name, key)
		}
		return t.fail("update", ctx, err)
	}
}

// Delete removes the row whose key is key; ErrNotFound if there is none.
func (t *Table[T]) Delete(ctx context.Context, key any) error {
	for try := 0; ; try++ {
		mp, q, err := t.target(ctx)
		if err != nil {
			return t.fail("delete", ctx, err)
		}
		var n int64
		key, err := keyArg(mp.model, key)
		if err != nil {
			return t.fail("delete", ctx, err)
		}
		if mp.shared {
			n, err = q.exec(ctx, mp.deleteSQL, mp.tenant, key)
		} else {
			n, err = q.exec(ctx, mp.deleteSQL, key)
		}
		if t.retryStale(ctx, mp, try, err) {
			continue
		}
		if err == nil && n == 0 {
			err = fmt.Errorf("%w: no %s with key %v", ErrNotFound, mp.model.name, key)
		}
		return t.fail("delete", ctx, err)
	}
}

// selectQuery renders q against the tenant's table.
func (t *Table[T]) selectQuery(mp *mapping, q Query) (string, []any, error) {
	b := append(make([]byte, 0, len(mp.selectSQL)+64), mp.selectSQL...)
	b, args, err := q.render(b, t.db.dialect, mp.model, true, mp.tenantArgs())
	if err != nil {
		return "", nil, err
	}
	return string(b), args, nil
}

// Find returns the rows q selects.
func (t *Table[T]) Find(ctx context.Context, q Query) ([]T, error) {
	var out []T
	for v, err := range t.All(ctx, q) {
		if err != nil {
			return nil, err
		}
		out = append(out, *v)
	}
	return out, nil
}

// First returns the first row q selects, or ErrNotFound.
func (t *Table[T]) First(ctx context.Context, q Query) (*T, error) {
	for v, err := range t.All(ctx, q.Limit(1)) {
		return v, err
	}
	return nil, t.fail("first", ctx, fmt.Errorf("%w: no %s matched", ErrNotFound, t.b.model.name))
}

// All streams the rows q selects, one fresh *T per row, without holding
// them all in memory. Stopping the loop early closes the rows. An error
// ends the sequence.
func (t *Table[T]) All(ctx context.Context, q Query) iter.Seq2[*T, error] {
	return func(yield func(*T, error) bool) {
		var mp *mapping
		var r rows
		for try := 0; ; try++ {
			var conn querier
			var err error
			if mp, conn, err = t.target(ctx); err != nil {
				yield(nil, t.fail("find", ctx, err))
				return
			}
			sql, args, err := t.selectQuery(mp, q)
			if err != nil {
				yield(nil, t.fail("find", ctx, err))
				return
			}
			if r, err = conn.query(ctx, sql, args...); err == nil {
				break
			}
			if !t.retryStale(ctx, mp, try, err) {
				yield(nil, t.fail("find", ctx, err))
				return
			}
		}
		defer r.Close()
		for r.Next() {
			v := new(T)
			if err := scanRecord(mp.model, r, unsafe.Pointer(v)); err != nil {
				yield(nil, t.fail("find", ctx, err))
				return
			}
			if !yield(v, nil) {
				return
			}
		}
		if err := r.Err(); err != nil {
			yield(nil, t.fail("find", ctx, err))
		}
	}
}

// Count returns the number of rows q's filters select (its order, limit
// and offset are ignored).
func (t *Table[T]) Count(ctx context.Context, q Query) (int64, error) {
	for try := 0; ; try++ {
		mp, conn, err := t.target(ctx)
		if err != nil {
			return 0, t.fail("count", ctx, err)
		}
		b := append(make([]byte, 0, len(mp.countSQL)+64), mp.countSQL...)
		b, args, err := q.render(b, t.db.dialect, mp.model, false, mp.tenantArgs())
		if err != nil {
			return 0, t.fail("count", ctx, err)
		}
		var n int64
		err = conn.queryRow(ctx, string(b), args...).Scan(&n)
		if t.retryStale(ctx, mp, try, err) {
			continue
		}
		return n, t.fail("count", ctx, err)
	}
}

// Exists reports whether q's filters select any row.
func (t *Table[T]) Exists(ctx context.Context, q Query) (bool, error) {
	for try := 0; ; try++ {
		mp, conn, err := t.target(ctx)
		if err != nil {
			return false, t.fail("exists", ctx, err)
		}
		b := append(make([]byte, 0, len(mp.existsSQL)+64), mp.existsSQL...)
		b, args, err := q.render(b, t.db.dialect, mp.model, false, mp.tenantArgs())
		if err != nil {
			return false, t.fail("exists", ctx, err)
		}
		b = t.db.dialect.AppendLimit(b, 1, 0)
		var one int
		err = conn.queryRow(ctx, string(b), args...).Scan(&one)
		if isNoRows(err) {
			return false, nil
		}
		if t.retryStale(ctx, mp, try, err) {
			continue
		}
		return err == nil, t.fail("exists", ctx, err)
	}
}

// InsertMany adds every record of vs to the tenant's table, all or none:
// COPY on PostgreSQL (keys drawn from the table's sequence first), multi-row
// INSERTs in one transaction elsewhere. Generated keys are written back into
// the records; on failure they are zero again. Inside InTx the transaction
// is the caller's: after an error, roll it back (return the error), or the
// rows of chunks that succeeded would commit with it.
func (t *Table[T]) InsertMany(ctx context.Context, vs []*T) error {
	if len(vs) == 0 {
		return nil
	}
	mp, q, err := t.target(ctx)
	if err != nil {
		return t.fail("insert many", ctx, err)
	}
	m := mp.model
	for _, v := range vs {
		if err := checkKey(m, unsafe.Pointer(v)); err != nil {
			return t.fail("insert many", ctx, err)
		}
		if err := m.validate(unsafe.Pointer(v), true, nil); err != nil {
			return t.fail("insert many", ctx, err)
		}
	}
	if c, ok := q.(copier); ok && t.db.dialect.Features()&dialect.CopyFrom != 0 {
		err = t.copyMany(ctx, mp, q, c, vs)
	} else {
		err = t.insertChunks(ctx, mp, q, vs)
	}
	return t.fail("insert many", ctx, err)
}

func (t *Table[T]) copyMany(ctx context.Context, mp *mapping, q querier, c copier, vs []*T) (err error) {
	m := mp.model
	if m.pk.auto {
		defer func() {
			if err != nil { // keys drawn for rows that were not stored name nothing
				for _, v := range vs {
					setInt(m.pk, unsafe.Pointer(v), 0)
				}
			}
		}()
		r, err := q.query(ctx, "SELECT nextval(pg_get_serial_sequence($1, $2)) FROM generate_series(1, $3)", mp.qtable, m.pk.column, len(vs))
		if err != nil {
			return err
		}
		i := 0
		for r.Next() {
			var k int64
			if err := r.Scan(&k); err != nil {
				r.Close()
				return err
			}
			setInt(m.pk, unsafe.Pointer(vs[i]), k)
			i++
		}
		r.Close()
		if err := r.Err(); err != nil {
			return err
		}
	}
	rowsIn := make([][]any, len(vs))
	for i, v := range vs {
		base := unsafe.Pointer(v)
		row := make([]any, 0, len(m.fields))
		if m.pk.auto {
			k, _ := m.pk.arg(base)
			row = append(row, k)
		}
		if row, err = insertArgs(m, base, row); err != nil {
			return err
		}
		if mp.shared {
			row = append(row, mp.tenant)
		}
		rowsIn[i] = row
	}
	cols := m.Columns()
	if mp.shared {
		cols = append(cols, TenantColumn)
	}
	_, err = c.copyFrom(ctx, mp.identifier(), cols, rowsIn)
	return err
}

// maxSQLiteParams is SQLite's default SQLITE_MAX_VARIABLE_NUMBER (3.32+).
const maxSQLiteParams = 32766

func (t *Table[T]) insertChunks(ctx context.Context, mp *mapping, q querier, vs []*T) error {
	m := mp.model
	d := t.db.dialect
	ncols := len(m.fields) + btoi(mp.shared)
	if m.pk.auto {
		ncols--
	}
	per := max(1, min(500, maxSQLiteParams/max(1, ncols)))
	if m.pk.auto && d.Features()&dialect.Returning == 0 {
		per = 1 // one key per statement from LastInsertId, all in one transaction
	}
	run := func(q querier) error {
		for start := 0; start < len(vs); start += per {
			chunk := vs[start:min(len(vs), start+per)]
			b := append([]byte(nil), mp.insertHead...)
			b = append(b, " VALUES "...)
			args := make([]any, 0, len(chunk)*ncols)
			for i, v := range chunk {
				if i > 0 {
					b = append(b, ',')
				}
				b = append(b, '(')
				b = appendPlaceholders(b, d, len(args)+1, ncols)
				b = append(b, ')')
				var err error
				if args, err = insertArgs(m, unsafe.Pointer(v), args); err != nil {
					return err
				}
				if mp.shared {
					args = append(args, mp.tenant)
				}
			}
			if !m.pk.auto {
				if _, err := q.exec(ctx, string(b), args...); err != nil {
					return err
				}
				continue
			}
			if per == 1 {
				id, err := q.(lastIDExecer).execLastID(ctx, string(b), args...)
				if err != nil {
					return err
				}
				setInt(m.pk, unsafe.Pointer(chunk[0]), id)
				continue
			}
			b = append(b, " RETURNING "...)
			b = d.AppendIdent(b, m.pk.column)
			r, err := q.query(ctx, string(b), args...)
			if err != nil {
				return err
			}
			keys := make([]int64, 0, len(chunk))
			for r.Next() {
				var k int64
				if err := r.Scan(&k); err != nil {
					r.Close()
					return err
				}
				keys = append(keys, k)
			}
			r.Close()
			if err := r.Err(); err != nil {
				return err
			}
			if len(keys) != len(chunk) {
				return fmt.Errorf("tenantmap: insert returned %d keys for %d rows", len(keys), len(chunk))
			}
			// SQLite does not promise RETURNING's order, but AUTOINCREMENT
			// hands out increasing keys in insertion order.
			slices.Sort(keys)
			for i, v := range chunk {
				setInt(m.pk, unsafe.Pointer(v), keys[i])
			}
		}
		return nil
	}
	var err error
	if txFrom(ctx, t.db) != nil || len(vs) <= per {
		err = run(q)
	} else {
		err = inTx(ctx, q.(backend), run) // outside a transaction q is the tenant's pool
	}
	if err != nil && m.pk.auto { // rolled back: the keys handed out so far name no rows
		for _, v := range vs {
			setInt(m.pk, unsafe.Pointer(v), 0)
		}
	}
	return err
}

// setInt stores an integer key into an integer field of any width.
func setInt(f *field, base unsafe.Pointer, k int64) {
	if f.bag {
		f.values(base).Set(f.column, k)
		return
	}
	v := reflectAt(f, base)
	if v.CanInt() {
		v.SetInt(k)
	} else {
		v.SetUint(uint64(k))
	}
}
