package tenantmap

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/tenantmap/tenantmap/dialect"
	"github.com/tenantmap/tenantmap/dialect/postgres"
)

// Migration is one version of the tenants' schema: the steps that take a
// tenant's tables from the previous version to this one. Versions are
// positive and increase; a tenant's version is recorded in the catalog
// (Tenant.MigrationVersion).
//
// A model's Go struct describes its latest version: Create makes a new
// tenant's tables from the models as they are and records the latest
// migration's version, so its migrations never run for it. Migrations bring
// the tenants made before them to the same shape; Drift checks that they
// did.
type Migration struct {
	Version int64
	Name    string
	Steps   []Step
}

// Step is one change a migration makes. The helpers (AddColumn,
// DropColumn, RenameColumn, AddIndex, AddUniqueIndex, DropIndex,
// CreateTable, AlterColumnType) render it for each tenant's placement on
// each dialect; SQL and Func run the program's own statements or code.
type Step interface {
	// String describes the step, for plans and errors.
	String() string
	kind() stepKind
}

type stepKind uint8

const (
	stepDDL    stepKind = iota + 1 // changes one model's table; once per shared table
	stepCreate                     // creates one model's table, per tenant
	stepData                       // per tenant: raw SQL or Go code
)

// Column describes a column that AddColumn or AlterColumnType gives a
// model's tables. A Column with only a Name (Kind zero) takes everything
// else from the registered model's column of that name, as its struct tags
// say.
type Column struct {
	Name     string
	Kind     dialect.Kind // dialect.String, dialect.Int64, …; zero: as the model has it
	Size     int          // a string column's maximum length; 0 for unbounded
	Nullable bool
	// Default is the value existing rows get and inserts that leave the
	// column out: a string, bool, integer or float, or DefaultNow for a time
	// column; nil for none. A column that is not Nullable needs one when it
	// is added to tables that may have rows.
	Default any
	// Indexed says the column is, or will be, in an index: MySQL then stores
	// an unsized string as VARCHAR(255), which it can index, not LONGTEXT.
	Indexed bool
}

// DefaultNow is the Column.Default of a time column that defaults to the
// time of the insert.
var DefaultNow = defaultNow{}

type defaultNow struct{}

type addColumnStep struct {
	model string
	col   Column
}

// AddColumn adds a column to the model's table of every tenant.
func AddColumn(model string, col Column) Step { return &addColumnStep{model, col} }

func (s *addColumnStep) String() string { return "add column " + s.model + "." + s.col.Name }
func (*addColumnStep) kind() stepKind   { return stepDDL }

type dropColumnStep struct{ model, column string }

// DropColumn removes a column, and its data, from the model's tables. Drop
// the indexes that hold it first (DropIndex); SQLite refuses to drop an
// indexed column.
func DropColumn(model, column string) Step { return &dropColumnStep{model, column} }

func (s *dropColumnStep) String() string { return "drop column " + s.model + "." + s.column }
func (*dropColumnStep) kind() stepKind   { return stepDDL }

type renameColumnStep struct{ model, from, to string }

// RenameColumn renames a column of the model's tables, keeping its data.
func RenameColumn(model, from, to string) Step { return &renameColumnStep{model, from, to} }

func (s *renameColumnStep) String() string {
	return "rename column " + s.model + "." + s.from + " to " + s.to
}
func (*renameColumnStep) kind() stepKind { return stepDDL }

type addIndexStep struct {
	model, name string
	unique      bool
	columns     []string
}

// AddIndex adds an index named name on columns to the model's tables,
// named and laid out as a `tm:"index:name"` tag would make it (in a shared
// table the tenant column leads it). On MySQL, index only strings that have
// a size or were made Indexed: it cannot index LONGTEXT.
func AddIndex(model, name string, columns ...string) Step {
	return &addIndexStep{model: model, name: name, columns: columns}
}

// AddUniqueIndex is AddIndex for a unique index (`tm:"unique:name"`); in a
// shared table it is unique within each tenant.
func AddUniqueIndex(model, name string, columns ...string) Step {
	return &addIndexStep{model: model, name: name, unique: true, columns: columns}
}

func (s *addIndexStep) String() string {
	return "add index " + s.model + "." + s.name + " (" + strings.Join(s.columns, ", ") + ")"
}
func (*addIndexStep) kind() stepKind { return stepDDL }

type dropIndexStep struct {
	model, name string
	unique      bool
}

// DropIndex removes the index AddIndex (or an index tag) named name.
func DropIndex(model, name string) Step { return &dropIndexStep{model: model, name: name} }

// DropUniqueIndex removes the index AddUniqueIndex (or a unique tag) named
// name.
func DropUniqueIndex(model, name string) Step {
	return &dropIndexStep{model: model, name: name, unique: true}
}

func (s *dropIndexStep) String() string { return "drop index " + s.model + "." + s.name }
func (*dropIndexStep) kind() stepKind   { return stepDDL }

type alterTypeStep struct {
	model string
	col   Column
}

// AlterColumnType changes a column's type and nullability where the
// database can: PostgreSQL (ALTER COLUMN … TYPE … USING column::type) and
// MySQL (MODIFY COLUMN). SQLite cannot change a column's type; there the
// migration fails with ErrUnsupported before it changes anything.
func AlterColumnType(model string, col Column) Step { return &alterTypeStep{model, col} }

func (s *alterTypeStep) String() string { return "alter column type " + s.model + "." + s.col.Name }
func (*alterTypeStep) kind() stepKind   { return stepDDL }

type createTableStep struct{ model string }

// CreateTable makes a model registered after some tenants were created:
// each such tenant gets the model's table where its placement puts it (for
// a shared table, the table is made once and the tenant recorded in it).
// The table is made as the model is now, at its latest shape, so the later
// migrations' steps on the same model are skipped for it, and a run that
// reaches a CreateTable must go to the latest version.
func CreateTable(model string) Step { return &createTableStep{model} }

func (s *createTableStep) String() string { return "create table " + s.model }
func (*createTableStep) kind() stepKind   { return stepCreate }

type sqlStep struct {
	sql  string
	args []any
}

// SQL is a raw statement run for each tenant, written as DB.Exec takes it:
// {model} names the tenant's table of that model, ? each argument, and a
// statement that names a shared table must carry the {tenant} filter. It
// runs in the tenant's migration transaction. On MySQL, whose DDL commits
// at once, write data changes (DML) here: they commit with the record of
// the step, so a rerun never applies one twice.
func SQL(stmt string, args ...any) Step { return &sqlStep{sql: stmt, args: args} }

func (s *sqlStep) String() string { return "sql: " + s.sql }
func (*sqlStep) kind() stepKind   { return stepData }

type funcStep struct {
	name string
	fn   func(ctx context.Context) error
}

// Func runs Go code for each tenant inside its migration transaction: ctx
// carries the tenant and the transaction, so the program's Table calls and
// DB.Exec made with it are the tenant's and commit or roll back with the
// migration. Table calls in a migration see the tenant's tables as they are
// at that step, which may not yet be the model's shape.
func Func(name string, fn func(ctx context.Context) error) Step { return &funcStep{name, fn} }

func (s *funcStep) String() string { return "go: " + s.name }
func (*funcStep) kind() stepKind   { return stepData }

// ErrUnsupported: the database cannot do what a migration step asks
// (change a column's type on SQLite).
var ErrUnsupported = errors.New("tenantmap: not supported by this database")

// ErrInvalidMigration: a migration is malformed: versions out of order, a
// step naming no registered model or column, an added NOT NULL column
// without a default, …
var ErrInvalidMigration = errors.New("tenantmap: invalid migration")

// migrationSet is the DB's migrations, sorted by version.
type migrationSet struct {
	list []Migration
}

func (s *migrationSet) latest() int64 {
	if s == nil || len(s.list) == 0 {
		return 0
	}
	return s.list[len(s.list)-1].Version
}

// between returns the migrations after version from, up to and including to.
func (s *migrationSet) between(from, to int64) []Migration {
	if s == nil {
		return nil
	}
	var out []Migration
	for _, m := range s.list {
		if m.Version > from && m.Version <= to {
			out = append(out, m)
		}
	}
	return out
}

func (s *migrationSet) has(version int64) bool {
	if s == nil {
		return false
	}
	for _, m := range s.list {
		if m.Version == version {
			return true
		}
	}
	return false
}

var noMigrations = &migrationSet{}

// migrations returns the DB's migrations (none until SetMigrations).
func (db *DB) migrations() *migrationSet {
	if s := db.migs.Load(); s != nil {
		return s
	}
	return noMigrations
}

// Migrations returns the DB's migrations, as SetMigrations was given them.
func (db *DB) Migrations() []Migration { return slices.Clone(db.migrations().list) }

// SetMigrations gives the DB its migrations, in increasing version order.
// Create records the latest version for every new tenant; Migrate brings
// older tenants to it. Every problem with the list is reported at once,
// wrapping ErrInvalidMigration. Set them once, before creating tenants.
func (db *DB) SetMigrations(migrations ...Migration) error {
	var errs []error
	seen := map[int64]bool{}
	last := int64(0)
	for _, m := range migrations {
		where := fmt.Sprintf("migration %d (%q)", m.Version, m.Name)
		switch {
		case m.Version <= 0:
			errs = append(errs, fmt.Errorf("%s: the version must be positive", where))
		case seen[m.Version]:
			errs = append(errs, fmt.Errorf("%s: version %d appears twice", where, m.Version))
		case m.Version < last:
			errs = append(errs, fmt.Errorf("%s: versions must increase; it follows %d", where, last))
		}
		seen[m.Version] = true
		last = max(last, m.Version)
		if len(m.Steps) == 0 {
			errs = append(errs, fmt.Errorf("%s: no steps", where))
		}
		for j, s := range m.Steps {
			if err := checkStep(s); err != nil {
				errs = append(errs, fmt.Errorf("%s, step %d (%v): %w", where, j+1, s, err))
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalidMigration, errors.Join(errs...))
	}
	db.migs.Store(&migrationSet{list: slices.Clone(migrations)})
	return nil
}

// checkStep checks what a step says about itself; what it says about the
// models is checked when a migration is planned, once they are registered.
func checkStep(s Step) error {
	name := func(what, n string) error {
		if !validName(n, 63) {
			return fmt.Errorf("%s %q: use 1-63 of a-z, 0-9, _, starting with a letter or _", what, n)
		}
		return nil
	}
	switch s := s.(type) {
	case nil:
		return errors.New("nil step")
	case *addColumnStep:
		if err := errors.Join(name("model", s.model), name("column", s.col.Name)); err != nil {
			return err
		}
		if s.col.Kind != 0 {
			return checkColumn(s.col, true)
		}
	case *alterTypeStep:
		if err := errors.Join(name("model", s.model), name("column", s.col.Name)); err != nil {
			return err
		}
		if s.col.Kind != 0 {
			return checkColumn(s.col, false)
		}
	case *dropColumnStep:
		return errors.Join(name("model", s.model), name("column", s.column))
	case *renameColumnStep:
		return errors.Join(name("model", s.model), name("column", s.from), name("column", s.to))
	case *addIndexStep:
		errs := []error{name("model", s.model), name("index", s.name)}
		if len(s.columns) == 0 {
			errs = append(errs, errors.New("an index needs columns"))
		}
		for _, c := range s.columns {
			errs = append(errs, name("column", c))
		}
		return errors.Join(errs...)
	case *dropIndexStep:
		return errors.Join(name("model", s.model), name("index", s.name))
	case *createTableStep:
		return name("model", s.model)
	case *sqlStep:
		if strings.TrimSpace(s.sql) == "" {
			return errors.New("empty statement")
		}
	case *funcStep:
		if s.fn == nil {
			return errors.New("nil function")
		}
	default:
		return fmt.Errorf("unknown step type %T", s)
	}
	return nil
}

// checkColumn checks an explicit column definition; added says the column
// is added to tables that may hold rows.
func checkColumn(c Column, added bool) error {
	if c.Kind <= dialect.Invalid || c.Kind > dialect.UUID {
		return fmt.Errorf("column %s: unknown kind %v", c.Name, c.Kind)
	}
	if c.Size < 0 || c.Size > 65535 || c.Size > 0 && c.Kind != dialect.String {
		return fmt.Errorf("column %s: size applies to string columns, 1-65535", c.Name)
	}
	if _, err := defaultSQL(c, postgres.Dialect{}); err != nil {
		return err
	}
	if added && !c.Nullable && c.Default == nil {
		return fmt.Errorf("column %s is NOT NULL and has no default: existing rows would have no value (give it a Default, or make it Nullable)", c.Name)
	}
	return nil
}

// defaultSQL renders a column's default as a DDL literal of dialect d, ""
// for none.
func defaultSQL(c Column, d dialect.Dialect) (string, error) {
	bad := func() (string, error) {
		return "", fmt.Errorf("column %s: default %#v does not fit a %s column", c.Name, c.Default, c.Kind)
	}
	switch v := c.Default.(type) {
	case nil:
		return "", nil
	case defaultNow:
		if c.Kind != dialect.Time {
			return bad()
		}
		return d.CurrentTimestamp(), nil
	case string:
		if c.Kind != dialect.String && c.Kind != dialect.UUID || strings.IndexByte(v, 0) >= 0 {
			return bad()
		}
		return string(d.AppendString(nil, v)), nil
	case bool:
		if c.Kind != dialect.Bool {
			return bad()
		}
		return strings.ToUpper(strconv.FormatBool(v)), nil
	case int, int8, int16, int32, int64, uint8, uint16, uint32:
		n, _ := strconv.ParseInt(fmt.Sprint(v), 10, 64)
		switch c.Kind {
		case dialect.Int16, dialect.Int32, dialect.Int64:
			return strconv.FormatInt(n, 10), nil
		case dialect.Float32, dialect.Float64:
			return strconv.FormatInt(n, 10), nil
		}
		return bad()
	case float32, float64:
		x, _ := strconv.ParseFloat(fmt.Sprint(v), 64)
		if c.Kind != dialect.Float32 && c.Kind != dialect.Float64 || math.IsNaN(x) || math.IsInf(x, 0) {
			return bad()
		}
		return strconv.FormatFloat(x, 'g', -1, 64), nil
	}
	return bad()
}

// columnOf resolves a step's column: the explicit definition, or the
// model's column of that name.
func columnOf(m *Model, c Column) (Column, error) {
	if c.Kind != 0 {
		return c, nil
	}
	f := m.byCol[c.Name]
	if f == nil {
		return Column{}, fmt.Errorf("%w: model %s has no column %q; give the step its Kind, Size and Nullable", ErrInvalidMigration, m.name, c.Name)
	}
	if f.pk {
		return Column{}, fmt.Errorf("%w: %s.%s is the primary key", ErrInvalidMigration, m.name, c.Name)
	}
	out := Column{Name: f.column, Kind: f.kind, Size: f.size, Nullable: f.nullable, Indexed: m.indexed(f)}
	if f.def != nil {
		if f.def.now {
			out.Default = DefaultNow
		} else {
			out.Default = f.def.value.Interface()
		}
	}
	return out, nil
}

// indexed reports whether f is the key or in one of m's indexes.
func (m *Model) indexed(f *field) bool {
	if f.pk {
		return true
	}
	for _, ix := range m.indexes {
		if slices.Contains(ix.cols, f) {
			return true
		}
	}
	return false
}

// columnDDL renders a column as ADD COLUMN takes it: name, type, NOT NULL,
// DEFAULT.
func columnDDL(d dialect.Dialect, c Column) (string, error) {
	def, err := defaultSQL(c, d)
	if err != nil {
		return "", err
	}
	b := d.AppendIdent(nil, c.Name)
	b = append(b, ' ')
	b = append(b, d.ColumnType(dialect.Column{Name: c.Name, Kind: c.Kind, Size: c.Size, Nullable: c.Nullable, Indexed: c.Indexed})...)
	if !c.Nullable {
		b = append(b, " NOT NULL"...)
	}
	if def != "" {
		b = append(b, " DEFAULT "...)
		b = append(b, def...)
	}
	return string(b), nil
}

// stepModel is the model a DDL or create step changes ("" for data steps).
func stepModel(s Step) string {
	switch s := s.(type) {
	case *addColumnStep:
		return s.model
	case *dropColumnStep:
		return s.model
	case *renameColumnStep:
		return s.model
	case *addIndexStep:
		return s.model
	case *dropIndexStep:
		return s.model
	case *alterTypeStep:
		return s.model
	case *createTableStep:
		return s.model
	}
	return ""
}

// indexName is the physical name of a model index on table, as provisioning
// names it.
func indexName(d dialect.Dialect, table, name string, unique bool) string {
	suffix := "_idx"
	if unique {
		suffix = "_key"
	}
	return fitIdent(table+"_"+name+suffix, d.MaxIdentifierLength())
}

// renderDDL renders a DDL step for one table (a tenant's or a shared one).
func renderDDL(d dialect.Dialect, m *Model, mp *mapping, s Step) ([]string, error) {
	q := func(name string) string { return dialect.Quote(d, name) }
	alter := "ALTER TABLE " + mp.qtable + " "
	switch s := s.(type) {
	case *addColumnStep:
		c, err := columnOf(m, s.col)
		if err != nil {
			return nil, err
		}
		def, err := columnDDL(d, c)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidMigration, err)
		}
		return []string{alter + "ADD COLUMN " + def}, nil
	case *dropColumnStep:
		return []string{alter + "DROP COLUMN " + q(s.column)}, nil
	case *renameColumnStep:
		return []string{alter + "RENAME COLUMN " + q(s.from) + " TO " + q(s.to)}, nil
	case *addIndexStep:
		b := []byte("CREATE ")
		if s.unique {
			b = append(b, "UNIQUE "...)
		}
		b = append(b, "INDEX "...)
		b = d.AppendIdent(b, indexName(d, mp.table, s.name, s.unique))
		b = append(b, " ON "...)
		b = append(b, mp.qtable...)
		b = append(b, " ("...)
		if mp.shared {
			b = d.AppendIdent(b, TenantColumn)
			b = append(b, ", "...)
		}
		for i, c := range s.columns {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = d.AppendIdent(b, c)
		}
		b = append(b, ')')
		return []string{string(b)}, nil
	case *dropIndexStep:
		return []string{d.DropIndexSQL(mp.schema, mp.table, indexName(d, mp.table, s.name, s.unique))}, nil
	case *alterTypeStep:
		c, err := columnOf(m, s.col)
		if err != nil {
			return nil, err
		}
		def, err := columnDDL(d, c)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidMigration, err)
		}
		stmts := d.AlterColumnType(mp.qtable, dialect.Column{Name: c.Name, Kind: c.Kind, Size: c.Size, Nullable: c.Nullable, Indexed: c.Indexed}, def)
		if stmts == nil {
			return nil, fmt.Errorf("%w: %s cannot change the type of a column (%s); rebuild the table with SQL steps", ErrUnsupported, d.Name(), s)
		}
		return stmts, nil
	}
	return nil, fmt.Errorf("tenantmap: %v is not a DDL step", s)
}
