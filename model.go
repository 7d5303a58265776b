package tenantmap

import (
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
	"unsafe"

	"github.com/tenantmap/tenantmap/dialect"
)

// Model is a record shape compiled once from a Go struct: its columns, key
// and indexes, and the field offsets used to read and write rows without
// reflection per row. A Model is immutable and shared by every tenant.
type Model struct {
	name    string
	typ     reflect.Type
	fields  []*field // in column order; pk first
	pk      *field
	indexes []modelIndex
	byCol   map[string]*field
	hasJSON bool

	// Fields not declared in Go live in a values map at valuesOff in the
	// record: every field of a run-time model's Record (dynamic), and the
	// custom fields a tenant adds to a struct model with an Extra field
	// (hasExtra).
	dynamic   bool
	hasExtra  bool
	valuesOff uintptr
	hasBag    bool      // some field lives in the values map
	check     bool      // writes validate the record first (bag fields, sized strings)
	custom    []*field  // the tenant's custom fields, in the order added; nil on a base model
	base      *Model    // the model this one extends with a tenant's custom fields; nil on a base model
	schema    *ModelDoc // a run-time model's document

	dests *sync.Pool // *[]any of len(fields): scan destinations, reused across rows
}

// Name is the model's name: its base table name and the token that raw SQL
// uses to name its table ({case}).
func (m *Model) Name() string { return m.name }

// Columns returns the model's column names, key first.
func (m *Model) Columns() []string {
	cols := make([]string, len(m.fields))
	for i, f := range m.fields {
		cols[i] = f.column
	}
	return cols
}

// Key returns the name of the model's primary key column.
func (m *Model) Key() string { return m.pk.column }

type modelIndex struct {
	name   string // suffix of the physical index name
	unique bool
	cols   []*field
}

type field struct {
	goName   string
	column   string
	offset   uintptr
	typ      reflect.Type
	kind     dialect.Kind
	size     int
	nullable bool
	json     bool
	pk, auto bool
	def      *columnDefault

	bag    bool     // the value is in the record's values map, by column, not at offset
	packed []*field // a shared table's custom fields, stored as one JSON object in this column
	key    string   // a packed field's key in that object: its id, kept through renames
	in     *field   // the column a packed field is stored in
	layout string   // the time layout inside a packed column (the dialect's JSONTimeLayout)
}

type columnDefault struct {
	sql    string        // the DDL literal, but for strings, which the dialect quotes (its escapes differ)
	str    string        // a string default's value
	isText bool          // the default is str, a string
	value  reflect.Value // assigned to a zero field on insert; invalid for "now"
	now    bool
}

// literal renders the default for DDL in dialect d.
func (c *columnDefault) literal(d dialect.Dialect) string {
	switch {
	case c.now:
		return d.CurrentTimestamp()
	case c.isText:
		return string(d.AppendString(nil, c.str))
	}
	return c.sql
}

var (
	timeType    = reflect.TypeFor[time.Time]()
	bytesType   = reflect.TypeFor[[]byte]()
	scannerType = reflect.TypeFor[sql.Scanner]()
	valuerType  = reflect.TypeFor[driver.Valuer]()
	rawJSONType = reflect.TypeFor[json.RawMessage]()
	extraType   = reflect.TypeFor[Extra]()
	recordType  = reflect.TypeFor[Record]()
)

// sqlNullKinds maps database/sql's Null types onto their kinds.
var sqlNullKinds = map[reflect.Type]dialect.Kind{
	reflect.TypeFor[sql.NullString]():  dialect.String,
	reflect.TypeFor[sql.NullInt64]():   dialect.Int64,
	reflect.TypeFor[sql.NullInt32]():   dialect.Int32,
	reflect.TypeFor[sql.NullInt16]():   dialect.Int16,
	reflect.TypeFor[sql.NullByte]():    dialect.Int16,
	reflect.TypeFor[sql.NullBool]():    dialect.Bool,
	reflect.TypeFor[sql.NullFloat64](): dialect.Float64,
	reflect.TypeFor[sql.NullTime]():    dialect.Time,
}

// The name of a model, a column or an index group: lowercase, so that it
// reads the same quoted or not.
func validName(s string, max int) bool {
	if s == "" || len(s) > max || !(s[0] >= 'a' && s[0] <= 'z' || s[0] == '_') {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

const maxNameLength = 48

// compileModel builds the model of struct type T. All problems are reported
// at once, joined, wrapping ErrInvalidModel.
func compileModel(t reflect.Type, name string) (*Model, error) {
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("%w: %s is not a struct", ErrInvalidModel, t)
	}
	if name == "" {
		name = snakeCase(t.Name())
	}
	m := &Model{name: name, typ: t, byCol: map[string]*field{}}
	var errs []error
	if !validName(name, maxNameLength) {
		errs = append(errs, fmt.Errorf("model name %q: use 1-%d of a-z, 0-9, _ (set it with ModelName)", name, maxNameLength))
	}
	if name == "tenant" {
		errs = append(errs, fmt.Errorf("model name %q: {tenant} is raw SQL's tenant filter; choose another name with ModelName", name))
	}
	groups := map[string]*modelIndex{}
	var order []string
	m.collect(t, 0, "", groups, &order, &errs)

	var pks []*field
	for _, f := range m.fields {
		if f.pk {
			pks = append(pks, f)
		}
	}
	if len(pks) == 0 {
		if f := m.byCol["id"]; f != nil {
			f.pk = true
			pks = append(pks, f)
		}
	}
	switch {
	case len(pks) == 0:
		errs = append(errs, errors.New("no primary key: add a field ID or tag one `tm:\",pk\"`"))
	case len(pks) > 1:
		errs = append(errs, fmt.Errorf("%d primary keys (%s, %s): composite keys are not supported", len(pks), pks[0].goName, pks[1].goName))
	default:
		pk := pks[0]
		m.pk = pk
		switch pk.kind {
		case dialect.Int16, dialect.Int32, dialect.Int64:
			pk.auto = true
		case dialect.String, dialect.UUID:
		default:
			errs = append(errs, fmt.Errorf("field %s: a primary key must be an integer (generated) or a string/UUID (set by the caller), not %s", pk.goName, pk.kind))
		}
		if pk.nullable {
			errs = append(errs, fmt.Errorf("field %s: a primary key cannot be nullable", pk.goName))
		}
		if pk.def != nil {
			errs = append(errs, fmt.Errorf("field %s: a primary key cannot have a default", pk.goName))
		}
		// Key first: the rendered SQL and Columns rely on it.
		for i, f := range m.fields {
			if f == pk {
				copy(m.fields[1:i+1], m.fields[:i])
				m.fields[0] = pk
				break
			}
		}
	}
	for _, g := range order {
		m.indexes = append(m.indexes, *groups[g])
	}
	if len(errs) > 0 {
		if t == recordType {
			errs = append(errs, errors.New("a Record's model is defined at run time: use RegisterModel"))
		}
		return nil, fmt.Errorf("%w %s (%s): %w", ErrInvalidModel, name, t, errors.Join(errs...))
	}
	m.finish()
	return m, nil
}

// finish derives the model's summary flags from its fields.
func (m *Model) finish() {
	m.hasJSON, m.hasBag, m.check = false, false, m.hasExtra
	for _, f := range m.fields {
		m.hasJSON = m.hasJSON || f.json
		m.hasBag = m.hasBag || f.bag
		m.check = m.check || f.bag || f.size > 0
	}
	n := len(m.fields)
	m.dests = &sync.Pool{New: func() any { s := make([]any, n); return &s }}
}

func (m *Model) collect(t reflect.Type, base uintptr, prefix string, groups map[string]*modelIndex, order *[]string, errs *[]error) {
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		tag, hasTag := sf.Tag.Lookup("tm")
		if tag == "-" {
			continue
		}
		if sf.Type == extraType {
			if m.hasExtra {
				*errs = append(*errs, fmt.Errorf("field %s: a model has at most one tenantmap.Extra field", prefix+sf.Name))
			}
			m.hasExtra, m.valuesOff = true, base+sf.Offset
			continue
		}
		if sf.Anonymous && !hasTag && sf.Type.Kind() == reflect.Struct && sf.Type != timeType {
			m.collect(sf.Type, base+sf.Offset, prefix+sf.Name+".", groups, order, errs)
			continue
		}
		if !sf.IsExported() {
			continue
		}
		f, fieldErrs := compileField(sf, base, prefix, tag)
		if len(fieldErrs) > 0 {
			*errs = append(*errs, fieldErrs...)
			continue
		}
		if prev := m.byCol[f.column]; prev != nil {
			*errs = append(*errs, fmt.Errorf("fields %s and %s both map to column %q", prev.goName, f.goName, f.column))
			continue
		}
		m.byCol[f.column] = f
		m.fields = append(m.fields, f)
		for _, opt := range splitTag(tag)[1:] {
			key, val, _ := strings.Cut(opt, ":")
			if key != "index" && key != "unique" {
				continue
			}
			unique := key == "unique"
			if val == "" {
				val = f.column
			}
			g := groups[key+":"+val]
			if g == nil {
				if !validName(val, maxNameLength) {
					*errs = append(*errs, fmt.Errorf("field %s: index name %q: use a-z, 0-9, _", f.goName, val))
					continue
				}
				g = &modelIndex{name: val, unique: unique}
				groups[key+":"+val] = g
				*order = append(*order, key+":"+val)
			}
			g.cols = append(g.cols, f)
		}
	}
}

func splitTag(tag string) []string {
	parts := strings.Split(tag, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

func compileField(sf reflect.StructField, base uintptr, prefix, tag string) (*field, []error) {
	f := &field{goName: prefix + sf.Name, offset: base + sf.Offset, typ: sf.Type}
	var errs []error
	fail := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("field %s: "+format, append([]any{f.goName}, args...)...))
	}
	parts := splitTag(tag)
	f.column = parts[0]
	if f.column == "" {
		f.column = snakeCase(sf.Name)
	}
	if !validName(f.column, 63) {
		fail("column name %q: use 1-63 of a-z, 0-9, _, starting with a letter or _", f.column)
	}
	var typeName, defVal string
	hasDef := false
	for _, opt := range parts[1:] {
		key, val, hasVal := strings.Cut(opt, ":")
		switch key {
		case "":
		case "pk":
			f.pk = true
		case "index", "unique":
		case "json":
			f.json = true
		case "size":
			n, err := strconv.Atoi(val)
			if err != nil || n <= 0 || n > 65535 {
				fail("size %q: want a positive integer up to 65535", val)
			}
			f.size = n
		case "type":
			typeName = val
		case "default":
			if !hasVal {
				fail("default needs a value (default:VALUE)")
			}
			defVal, hasDef = val, true
		default:
			fail("unknown tag option %q (known: pk, index, unique, json, size, type, default)", key)
		}
	}

	t := sf.Type
	if t.Kind() == reflect.Pointer && t.Elem() != nil && !f.json && sqlNullKinds[t] == 0 {
		f.nullable = true
		t = t.Elem()
	}
	if k, ok := sqlNullKinds[t]; ok {
		f.kind, f.nullable = k, true
	} else if isGenericSQLNull(t) {
		inner, _ := t.FieldByName("V")
		f.kind = kindOf(inner.Type)
		f.nullable = true
		if f.kind == dialect.Invalid || f.kind == dialect.JSON {
			fail("sql.Null of %s is not supported", inner.Type)
		}
	} else if f.json {
		f.kind = dialect.JSON
	} else {
		f.kind = kindOf(t)
		if f.kind == dialect.Invalid && reflect.PointerTo(t).Implements(scannerType) && t.Implements(valuerType) {
			f.kind = dialect.String // a Scanner/Valuer type: its driver value decides; type: may say more
		}
		if f.kind == dialect.JSON {
			f.json = true
			if t.Kind() == reflect.Pointer || t.Kind() == reflect.Map || t.Kind() == reflect.Slice {
				f.nullable = true
			}
		}
	}
	if f.json && sf.Type.Kind() == reflect.Pointer || f.kind == dialect.Bytes {
		f.nullable = true // a nil []byte is NULL, as in database/sql
	}
	if f.kind == dialect.Invalid {
		fail("unsupported type %s (supported: bool, ints, floats, string, []byte, time.Time, sql.Null*, pointers to these, and struct/map/slice stored as JSON)", sf.Type)
	}
	switch typeName {
	case "":
	case "uuid":
		if f.kind != dialect.String {
			fail("type:uuid needs a string field, not %s", sf.Type)
		}
		f.kind = dialect.UUID
	case "text":
		if f.kind != dialect.String {
			fail("type:text needs a string field, not %s", sf.Type)
		}
	default:
		fail("unknown type %q (known: uuid, text)", typeName)
	}
	if f.size > 0 && f.kind != dialect.String {
		fail("size applies to string fields only")
	}
	if hasDef && len(errs) == 0 {
		d, err := parseDefault(sf.Type, f.kind, defVal)
		if err != nil {
			fail("default %q: %v", defVal, err)
		}
		f.def = d
	}
	return f, errs
}

func isGenericSQLNull(t reflect.Type) bool {
	return t.Kind() == reflect.Struct && t.PkgPath() == "database/sql" && strings.HasPrefix(t.Name(), "Null[")
}

func kindOf(t reflect.Type) dialect.Kind {
	switch t {
	case timeType:
		return dialect.Time
	case rawJSONType:
		return dialect.JSON
	}
	switch t.Kind() {
	case reflect.Bool:
		return dialect.Bool
	case reflect.Int8, reflect.Int16, reflect.Uint8:
		return dialect.Int16
	case reflect.Int32, reflect.Uint16:
		return dialect.Int32
	case reflect.Int, reflect.Int64, reflect.Uint32:
		return dialect.Int64
	case reflect.Float32:
		return dialect.Float32
	case reflect.Float64:
		return dialect.Float64
	case reflect.String:
		return dialect.String
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return dialect.Bytes
		}
		return dialect.JSON
	case reflect.Map:
		return dialect.JSON
	case reflect.Struct:
		if t.Implements(valuerType) || reflect.PointerTo(t).Implements(scannerType) {
			return dialect.Invalid
		}
		return dialect.JSON
	}
	return dialect.Invalid
}

// parseDefault parses a tag's default for the field's kind. The value is
// assigned to a zero field on insert and rendered as a literal in DDL.
func parseDefault(t reflect.Type, kind dialect.Kind, s string) (*columnDefault, error) {
	elem := t
	if elem.Kind() == reflect.Pointer {
		elem = elem.Elem()
	}
	d := &columnDefault{}
	v := reflect.New(elem).Elem()
	switch kind {
	case dialect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, errors.New("not a bool")
		}
		d.sql = strings.ToUpper(strconv.FormatBool(b))
		if elem.Kind() != reflect.Bool {
			return nil, errors.New("defaults are supported on plain bool fields only")
		}
		v.SetBool(b)
	case dialect.Int16, dialect.Int32, dialect.Int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, errors.New("not an integer")
		}
		d.sql = strconv.FormatInt(n, 10)
		switch elem.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			if v.OverflowInt(n) {
				return nil, errors.New("out of range")
			}
			v.SetInt(n)
		case reflect.Uint8, reflect.Uint16, reflect.Uint32:
			if n < 0 || v.OverflowUint(uint64(n)) {
				return nil, errors.New("out of range")
			}
			v.SetUint(uint64(n))
		default:
			return nil, errors.New("defaults are supported on plain integer fields only")
		}
	case dialect.Float32, dialect.Float64:
		x, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, errors.New("not a finite number")
		}
		if elem.Kind() != reflect.Float32 && elem.Kind() != reflect.Float64 {
			return nil, errors.New("defaults are supported on plain float fields only")
		}
		if v.OverflowFloat(x) {
			return nil, errors.New("out of range")
		}
		d.sql = strconv.FormatFloat(x, 'g', -1, 64)
		v.SetFloat(x)
	case dialect.String:
		if elem.Kind() != reflect.String {
			return nil, errors.New("defaults are supported on plain string fields only")
		}
		if strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s) {
			return nil, errors.New("contains a NUL byte, or is not UTF-8")
		}
		d.str, d.isText = s, true
		v.SetString(s)
	case dialect.Time:
		if s != "now" || elem != timeType {
			return nil, errors.New("a time.Time field's only default is now")
		}
		d.sql, d.now = "CURRENT_TIMESTAMP", true
		return d, nil
	default:
		return nil, fmt.Errorf("defaults are not supported on %s columns", kind)
	}
	d.value = v
	return d, nil
}

// snakeCase turns a Go name into a column name: CreatedAt → created_at,
// UserID → user_id, HTTPCode → http_code.
func snakeCase(s string) string {
	var b strings.Builder
	runes := []rune(s)
	for i, r := range runes {
		if unicode.IsUpper(r) {
			if i > 0 && (unicode.IsLower(runes[i-1]) || unicode.IsDigit(runes[i-1]) ||
				(i+1 < len(runes) && unicode.IsLower(runes[i+1]))) {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToLower(r))
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// ptr returns the address of f inside the record at base.
func (f *field) ptr(base unsafe.Pointer) unsafe.Pointer { return unsafe.Add(base, f.offset) }

// arg returns f's value in the record at base as a bind argument.
func (f *field) arg(base unsafe.Pointer) (any, error) {
	if f.bag {
		return f.bagArg(base)
	}
	p := f.ptr(base)
	if f.json {
		v := reflect.NewAt(f.typ, p).Elem()
		if f.nullable && v.Kind() == reflect.Pointer && v.IsNil() {
			return nil, nil
		}
		b, err := json.Marshal(v.Interface())
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", f.goName, err)
		}
		return string(b), nil
	}
	switch f.typ {
	case stringType:
		return *(*string)(p), nil
	case int64Type:
		return *(*int64)(p), nil
	case intType:
		return *(*int)(p), nil
	case boolType:
		return *(*bool)(p), nil
	case float64Type:
		return *(*float64)(p), nil
	case timeType:
		return *(*time.Time)(p), nil
	}
	return reflect.NewAt(f.typ, p).Elem().Interface(), nil
}

var (
	stringType  = reflect.TypeFor[string]()
	int64Type   = reflect.TypeFor[int64]()
	intType     = reflect.TypeFor[int]()
	boolType    = reflect.TypeFor[bool]()
	float64Type = reflect.TypeFor[float64]()
)

// dest returns a scan destination for f in the record at base. JSON fields
// scan into *raw and are decoded by decode after the row is scanned.
func (f *field) dest(base unsafe.Pointer, raw *[]byte) any {
	if f.json {
		return raw
	}
	return reflect.NewAt(f.typ, f.ptr(base)).Interface()
}

func (f *field) decode(base unsafe.Pointer, raw []byte) error {
	v := reflect.NewAt(f.typ, f.ptr(base))
	if raw == nil {
		v.Elem().SetZero()
		return nil
	}
	if err := json.Unmarshal(raw, v.Interface()); err != nil {
		return fmt.Errorf("field %s: decoding JSON: %w", f.goName, err)
	}
	return nil
}

// applyDefault sets a zero field with a default to its default value.
func (f *field) applyDefault(base unsafe.Pointer) {
	if f.bag {
		f.bagDefault(base)
		return
	}
	v := reflect.NewAt(f.typ, f.ptr(base)).Elem()
	if !v.IsZero() {
		return
	}
	var d reflect.Value
	if f.def.now {
		d = reflect.ValueOf(time.Now().UTC().Truncate(time.Microsecond))
	} else {
		d = f.def.value
	}
	if v.Kind() == reflect.Pointer {
		p := reflect.New(v.Type().Elem())
		p.Elem().Set(d)
		v.Set(p)
		return
	}
	v.Set(d)
}

// isZero reports whether f holds its type's zero value (a bag field: NULL
// or unset).
func (f *field) isZero(base unsafe.Pointer) bool {
	if f.bag {
		x := f.values(base).m[f.column]
		return x == nil || x == ""
	}
	return reflectAt(f, base).IsZero()
}

func reflectAt(f *field, base unsafe.Pointer) reflect.Value {
	return reflect.NewAt(f.typ, f.ptr(base)).Elem()
}
