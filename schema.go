package tenantmap

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unsafe"

	"gopkg.in/yaml.v3"

	"github.com/tenantmap/tenantmap/dialect"
)

// ModelDoc is the document that defines a model at run time: its name, its
// fields and its indexes. It is read from JSON or YAML (ParseModelDoc) or
// written in Go; NewModel compiles it. ModelSchemaJSON is the JSON Schema
// of the document.
type ModelDoc struct {
	Name    string     `json:"name" yaml:"name"`
	Fields  []FieldDef `json:"fields" yaml:"fields"`
	Indexes []IndexDef `json:"indexes,omitempty" yaml:"indexes,omitempty"`
}

// FieldDef is one field of a run-time model, or a custom field a tenant
// adds to a model (Tenants.AddField).
type FieldDef struct {
	Name string `json:"name" yaml:"name"`
	// Type is one of FieldTypes: string, text, uuid, int16, int32, int64,
	// float32, float64, bool, time, bytes, json (and the aliases integer,
	// number, boolean, timestamp).
	Type     string `json:"type" yaml:"type"`
	Size     int    `json:"size,omitempty" yaml:"size,omitempty"`         // a string's maximum length in characters; 0 for none
	Nullable bool   `json:"nullable,omitempty" yaml:"nullable,omitempty"` // NULL allowed; otherwise the field is required unless it has a default
	Default  any    `json:"default,omitempty" yaml:"default,omitempty"`   // a string, number or bool; "now" for a time
	Key      bool   `json:"key,omitempty" yaml:"key,omitempty"`           // the primary key (an integer key is generated); default: the field named id
	Unique   bool   `json:"unique,omitempty" yaml:"unique,omitempty"`     // a unique index on the field alone
	Index    bool   `json:"index,omitempty" yaml:"index,omitempty"`       // an index on the field alone
}

// IndexDef is an index over one or more fields.
type IndexDef struct {
	Name   string   `json:"name" yaml:"name"`
	Fields []string `json:"fields" yaml:"fields"`
	Unique bool     `json:"unique,omitempty" yaml:"unique,omitempty"`
}

// ModelSchemaJSON is the JSON Schema (draft 2020-12) of the model document
// that ParseModelDoc reads; the file is docs/model.schema.json.
//
//go:embed docs/model.schema.json
var ModelSchemaJSON []byte

// fieldTypes names the kinds a document can give a field.
var fieldTypes = map[string]dialect.Kind{
	"string": dialect.String, "text": dialect.String, "uuid": dialect.UUID,
	"int16": dialect.Int16, "int32": dialect.Int32, "int64": dialect.Int64, "integer": dialect.Int64,
	"float32": dialect.Float32, "float64": dialect.Float64, "number": dialect.Float64,
	"bool": dialect.Bool, "boolean": dialect.Bool,
	"time": dialect.Time, "timestamp": dialect.Time,
	"bytes": dialect.Bytes, "json": dialect.JSON,
}

// FieldTypes lists the type names a FieldDef may use, sorted.
func FieldTypes() []string {
	out := make([]string, 0, len(fieldTypes))
	for k := range fieldTypes {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// typeName is the document's name for a kind.
func typeName(k dialect.Kind) string {
	switch k {
	case dialect.String:
		return "string"
	case dialect.UUID:
		return "uuid"
	case dialect.Int16:
		return "int16"
	case dialect.Int32:
		return "int32"
	case dialect.Int64:
		return "int64"
	case dialect.Float32:
		return "float32"
	case dialect.Float64:
		return "float64"
	case dialect.Bool:
		return "bool"
	case dialect.Time:
		return "time"
	case dialect.Bytes:
		return "bytes"
	case dialect.JSON:
		return "json"
	}
	return k.String()
}

// ParseModelDoc reads a model document, JSON (a document starting with {) or
// YAML. Unknown keys are errors, as misspelt constraints would otherwise be
// dropped without a word. The document is checked by NewModel, not here.
func ParseModelDoc(doc []byte) (*ModelDoc, error) {
	trimmed := bytes.TrimSpace(doc)
	if len(trimmed) > 0 && trimmed[0] != '{' {
		// YAML: decoded strictly into the same types, then the JSON path
		// below gives both forms one set of rules.
		var s ModelDoc
		dec := yaml.NewDecoder(bytes.NewReader(doc))
		dec.KnownFields(true)
		if err := dec.Decode(&s); err != nil {
			return nil, fmt.Errorf("%w: YAML: %v", ErrInvalidModel, err)
		}
		s.normalize()
		return &s, nil
	}
	var s ModelDoc
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%w: JSON: %v", ErrInvalidModel, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: JSON: more than one document", ErrInvalidModel)
	}
	s.normalize()
	return &s, nil
}

// normalize gives defaults one Go type whichever form they were read from:
// int64 for an integer, float64 for another number.
func (s *ModelDoc) normalize() {
	for i := range s.Fields {
		switch v := canonical(s.Fields[i].Default).(type) {
		case json.Number:
			if n, err := v.Int64(); err == nil {
				s.Fields[i].Default = n
			} else if f, err := v.Float64(); err == nil {
				s.Fields[i].Default = f
			}
		case int64, float64:
			s.Fields[i].Default = v
		}
	}
}

// reservedColumn reports whether tenantmap keeps a column name for itself.
func reservedColumn(name string) bool {
	return name == TenantColumn || name == packedColumn || strings.HasPrefix(name, "tenantmap_")
}

// packedColumn is the column of a shared table that holds its tenants'
// custom fields, one JSON object per row.
const packedColumn = "tm_custom"

// NewModel compiles a run-time model from its document. Its records are
// Records; register it with RegisterModel. All problems are reported at
// once, joined, wrapping ErrInvalidModel.
func NewModel(s ModelDoc) (*Model, error) {
	m := &Model{name: s.Name, typ: recordType, byCol: map[string]*field{}, dynamic: true,
		valuesOff: unsafe.Offsetof(Record{}.values)}
	var errs []error
	if !validName(s.Name, maxNameLength) {
		errs = append(errs, fmt.Errorf("model name %q: use 1-%d of a-z, 0-9, _, starting with a letter or _", s.Name, maxNameLength))
	}
	if s.Name == "tenant" {
		errs = append(errs, fmt.Errorf("model name %q: {tenant} is raw SQL's tenant filter", s.Name))
	}
	if len(s.Fields) == 0 {
		errs = append(errs, errors.New("no fields"))
	}
	groups := map[string]*modelIndex{}
	var order []string
	addIndex := func(name string, unique bool, f *field) {
		key := strconv.FormatBool(unique) + ":" + name
		g := groups[key]
		if g == nil {
			g = &modelIndex{name: name, unique: unique}
			groups[key] = g
			order = append(order, key)
		}
		g.cols = append(g.cols, f)
	}
	var keys []*field
	for i, fd := range s.Fields {
		f, ferrs := compileFieldDef(fd, i)
		errs = append(errs, ferrs...)
		if f == nil {
			continue
		}
		if m.byCol[f.column] != nil {
			errs = append(errs, fmt.Errorf("field %q: defined twice", f.column))
			continue
		}
		f.offset = m.valuesOff
		m.byCol[f.column] = f
		m.fields = append(m.fields, f)
		if fd.Key {
			keys = append(keys, f)
		}
		if fd.Index {
			addIndex(f.column, false, f)
		}
		if fd.Unique {
			addIndex(f.column, true, f)
		}
	}
	if len(keys) == 0 {
		if f := m.byCol["id"]; f != nil {
			keys = append(keys, f)
			if i := slices.IndexFunc(s.Fields, func(fd FieldDef) bool { return fd.Name == "id" }); s.Fields[i].Index || s.Fields[i].Unique {
				errs = append(errs, errors.New(`field "id": the key is indexed already`))
			}
		}
	}
	switch {
	case len(keys) == 0 && len(m.fields) > 0:
		errs = append(errs, errors.New(`no key: name a field "id" or mark one "key": true`))
	case len(keys) > 1:
		errs = append(errs, fmt.Errorf("%d keys (%s, %s): composite keys are not supported", len(keys), keys[0].column, keys[1].column))
	case len(keys) == 1:
		pk := keys[0]
		pk.pk, m.pk = true, pk
		switch pk.kind {
		case dialect.Int16, dialect.Int32, dialect.Int64:
			pk.auto = true
		case dialect.String, dialect.UUID:
		default:
			errs = append(errs, fmt.Errorf("field %q: a key must be an integer (generated) or a string/uuid (set by the caller), not %s", pk.column, typeName(pk.kind)))
		}
		if pk.nullable {
			errs = append(errs, fmt.Errorf("field %q: a key cannot be nullable", pk.column))
		}
		if pk.def != nil {
			errs = append(errs, fmt.Errorf("field %q: a key cannot have a default", pk.column))
		}
		i := slices.Index(m.fields, pk)
		copy(m.fields[1:i+1], m.fields[:i])
		m.fields[0] = pk
	}
	for i, ix := range s.Indexes {
		if !validName(ix.Name, maxNameLength) {
			errs = append(errs, fmt.Errorf("index %d: name %q: use a-z, 0-9, _", i+1, ix.Name))
			continue
		}
		if groups["true:"+ix.Name] != nil || groups["false:"+ix.Name] != nil {
			errs = append(errs, fmt.Errorf("index %q: defined twice", ix.Name))
			continue
		}
		if len(ix.Fields) == 0 {
			errs = append(errs, fmt.Errorf("index %q: no fields", ix.Name))
			continue
		}
		for j, name := range ix.Fields {
			f := m.byCol[name]
			switch {
			case f == nil:
				errs = append(errs, fmt.Errorf("index %q: no field %q", ix.Name, name))
			case slices.Contains(ix.Fields[:j], name):
				errs = append(errs, fmt.Errorf("index %q: field %q twice", ix.Name, name))
			default:
				addIndex(ix.Name, ix.Unique, f)
			}
		}
	}
	for _, g := range order {
		m.indexes = append(m.indexes, *groups[g])
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w %q: %w", ErrInvalidModel, s.Name, errors.Join(errs...))
	}
	doc := s
	doc.Fields, doc.Indexes = slices.Clone(s.Fields), slices.Clone(s.Indexes)
	m.schema = &doc
	m.finish()
	return m, nil
}

// compileFieldDef compiles one field of a document (the i-th) into a bag
// field; nil, with the reasons, if it cannot be.
func compileFieldDef(fd FieldDef, i int) (*field, []error) {
	var errs []error
	label := fmt.Sprintf("field %q", fd.Name)
	if fd.Name == "" {
		label = fmt.Sprintf("field %d", i+1)
	}
	fail := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(label+": "+format, args...))
	}
	if !validName(fd.Name, 63) {
		fail("name: use 1-63 of a-z, 0-9, _, starting with a letter or _")
	} else if reservedColumn(fd.Name) {
		fail("name %q is tenantmap's own", fd.Name)
	}
	kind, ok := fieldTypes[fd.Type]
	if !ok {
		fail("unknown type %q (known: %s)", fd.Type, strings.Join(FieldTypes(), ", "))
	}
	if fd.Size < 0 || fd.Size > 65535 {
		fail("size %d: want 0-65535", fd.Size)
	}
	if fd.Size > 0 && kind != dialect.String {
		fail("size applies to string fields only")
	}
	if fd.Key && (fd.Index || fd.Unique) {
		fail("a key is indexed already")
	}
	if len(errs) > 0 {
		return nil, errs
	}
	f := &field{goName: fd.Name, column: fd.Name, kind: kind, size: fd.Size, nullable: fd.Nullable, bag: true, typ: goTypeOf(kind)}
	if fd.Default != nil {
		s, ok := defaultText(fd.Default)
		if !ok {
			fail("default %v: want a string, number or bool", fd.Default)
			return nil, errs
		}
		d, err := parseDefault(f.typ, kind, s)
		if err != nil {
			fail("default %q: %v", s, err)
			return nil, errs
		}
		if d.value.IsValid() && kind == dialect.Float32 && math.Abs(d.value.Float()) > math.MaxFloat32 {
			fail("default %g is out of range for float32", d.value.Float())
			return nil, errs
		}
		if d.value.IsValid() && d.value.Kind() == reflect.Int64 {
			if lo, hi := intRange(kind); d.value.Int() < lo || d.value.Int() > hi {
				fail("default %d is out of range for %s", d.value.Int(), typeName(kind))
				return nil, errs
			}
		}
		if d.isText && fd.Size > 0 && len([]rune(s)) > fd.Size {
			fail("default %q: longer than its size %d", s, fd.Size)
			return nil, errs
		}
		f.def = d
	}
	return f, nil
}

// defaultText is a document's default as a tag would write it.
func defaultText(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		return strconv.FormatBool(x), true
	case int:
		return strconv.Itoa(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), true
	}
	return "", false
}

// Doc returns the model as a document: a run-time model's own, a
// struct model's as NewModel would read it.
func (m *Model) Doc() ModelDoc {
	if m.schema != nil && m.base == nil {
		s := *m.schema
		s.Fields, s.Indexes = slices.Clone(s.Fields), slices.Clone(s.Indexes)
		return s
	}
	s := ModelDoc{Name: m.name}
	for _, f := range m.fields {
		if f.packed != nil {
			continue
		}
		s.Fields = append(s.Fields, f.document())
	}
	for _, f := range m.custom {
		if f.in != nil {
			s.Fields = append(s.Fields, f.document())
		}
	}
	for _, ix := range m.indexes {
		d := IndexDef{Name: ix.name, Unique: ix.unique}
		for _, f := range ix.cols {
			d.Fields = append(d.Fields, f.column)
		}
		s.Indexes = append(s.Indexes, d)
	}
	return s
}

// document is the field as a model document describes it.
func (f *field) document() FieldDef {
	fd := FieldDef{Name: f.column, Type: typeName(f.kind), Size: f.size, Nullable: f.nullable, Key: f.pk}
	if f.kind == dialect.String && f.size == 0 {
		fd.Type = "text"
	}
	if f.def != nil {
		switch {
		case f.def.now:
			fd.Default = "now"
		case f.def.isText:
			fd.Default = f.def.str
		default:
			fd.Default = f.def.value.Interface()
		}
	}
	return fd
}
