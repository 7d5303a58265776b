package tenantmap

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/tenantmap/tenantmap/dialect"
)

// This file holds the fields that are not Go struct fields: a run-time
// model's, and a tenant's custom fields. They live in a values map inside
// the record (a Record, or a struct model's Extra) at the model's
// valuesOff, keyed by column name.

// values returns the values map of the record at base that holds f.
func (f *field) values(base unsafe.Pointer) *values {
	return (*values)(unsafe.Add(base, f.offset))
}

// goTypeOf is the Go type a bag field's value is kept as.
func goTypeOf(k dialect.Kind) reflect.Type {
	switch k {
	case dialect.Int16, dialect.Int32, dialect.Int64:
		return int64Type
	case dialect.Float32, dialect.Float64:
		return float64Type
	case dialect.Bool:
		return boolType
	case dialect.Time:
		return timeType
	case dialect.Bytes:
		return bytesType
	case dialect.JSON:
		return rawJSONType
	}
	return stringType
}

// bagArg is a bag field's bind argument. The record was validated, so the
// value has its kind's Go type.
func (f *field) bagArg(base unsafe.Pointer) (any, error) {
	vals := f.values(base)
	if f.packed != nil {
		return packFields(f, f.packed, vals)
	}
	x := vals.m[f.column]
	if r, ok := x.(json.RawMessage); ok {
		return string(r), nil
	}
	return x, nil
}

// packedKeys are the JSON keys of a shared table's custom fields.
func packedKeys(fields []*field) []string {
	keys := make([]string, len(fields))
	for i, f := range fields {
		keys[i] = f.key
	}
	return keys
}

// packFields renders fields, custom fields kept in the shared table's
// column in, as one JSON object, by the fields' keys, NULL values included.
func packFields(in *field, fields []*field, vals *values) (any, error) {
	obj := make(map[string]any, len(fields))
	for _, f := range fields {
		switch x := vals.m[f.column].(type) {
		case nil:
			obj[f.key] = nil // null; an absent key (a row older than the field) reads as its default
		case time.Time:
			obj[f.key] = x.UTC().Format(in.layout)
		default:
			obj[f.key] = x
		}
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// unpackFields reads a JSON object written by packFields into vals.
func unpackFields(in *field, raw []byte, vals *values) error {
	var obj map[string]json.RawMessage
	if raw != nil {
		if err := json.Unmarshal(raw, &obj); err != nil {
			return fmt.Errorf("custom fields: %w", err)
		}
	}
	for _, f := range in.packed {
		r, ok := obj[f.key]
		if !ok && f.def != nil && !f.def.now {
			vals.Set(f.column, f.def.value.Interface())
			continue
		}
		if !ok || string(r) == "null" {
			vals.Set(f.column, nil)
			continue
		}
		var tmp values
		if err := tmp.UnmarshalJSON(append(append([]byte(`{"v":`), r...), '}')); err != nil {
			return fmt.Errorf("custom field %s: %w", f.column, err)
		}
		v := tmp.m["v"]
		if s, ok := v.(string); ok && f.kind == dialect.Time {
			if t, err := time.Parse(in.layout, s); err == nil {
				v = t
			}
		}
		x, problem := coerce(f.kind, 0, v)
		if problem != "" {
			return fmt.Errorf("custom field %s: %s", f.column, problem)
		}
		vals.Set(f.column, x)
	}
	return nil
}

// bagDefault gives an unset field its default; a NULL set on purpose stays
// NULL where the field may be NULL.
func (f *field) bagDefault(base unsafe.Pointer) {
	vals := f.values(base)
	if x, set := vals.m[f.column]; set && (x != nil || f.nullable) {
		return
	}
	if f.def.now {
		vals.Set(f.column, time.Now().UTC().Truncate(time.Microsecond))
		return
	}
	vals.Set(f.column, f.def.value.Interface())
}

// slot is the scan destination of a bag field: a pointer that stays nil
// for NULL, of the Go type the driver converts the column's value to.
type slot struct {
	s *string
	i *int64
	f *float64
	b *bool
	t *time.Time
	p []byte
}

func (s *slot) dest(f *field) any {
	if f.packed != nil {
		return &s.p
	}
	switch goTypeOf(f.kind) {
	case int64Type:
		return &s.i
	case float64Type:
		return &s.f
	case boolType:
		return &s.b
	case timeType:
		return &s.t
	case bytesType, rawJSONType:
		return &s.p
	}
	return &s.s
}

func (s *slot) value(f *field) any {
	switch goTypeOf(f.kind) {
	case int64Type:
		if s.i != nil {
			return *s.i
		}
	case float64Type:
		if s.f != nil {
			return *s.f
		}
	case boolType:
		if s.b != nil {
			return *s.b
		}
	case timeType:
		if s.t != nil {
			return *s.t
		}
	case bytesType:
		if s.p != nil {
			return s.p
		}
	case rawJSONType:
		if s.p != nil {
			return json.RawMessage(s.p)
		}
	default:
		if s.s != nil {
			return *s.s
		}
	}
	return nil
}

// scanDynamic scans a row of a model with bag fields.
func scanDynamic(m *Model, r interface{ Scan(...any) error }, base unsafe.Pointer) error {
	dests := make([]any, len(m.fields))
	slots := make([]slot, len(m.fields))
	raws := make([][]byte, len(m.fields))
	for i, f := range m.fields {
		switch {
		case f.bag:
			dests[i] = slots[i].dest(f)
		case f.json:
			dests[i] = &raws[i]
		default:
			dests[i] = f.dest(base, nil)
		}
	}
	if err := r.Scan(dests...); err != nil {
		return err
	}
	for i, f := range m.fields {
		switch {
		case f.packed != nil:
			if err := unpackFields(f, slots[i].p, f.values(base)); err != nil {
				return err
			}
		case f.bag:
			f.values(base).Set(f.column, slots[i].value(f))
		case f.json:
			if err := f.decode(base, raws[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// validate checks a record before a write: every bag field's value is
// converted to its field's type, present unless nullable or defaulted, and
// within its size; sized Go strings are within theirs; a values map holds
// no field the model (as the tenant sees it) lacks. only limits the check
// to the fields an UpdateColumns names. Every problem is reported at once.
// Inserts apply defaults first.
func (m *Model) validate(base unsafe.Pointer, insert bool, only []*field) error {
	if !m.check {
		return nil
	}
	var problems []FieldError
	fail := func(f *field, format string, args ...any) {
		problems = append(problems, FieldError{Field: f.column, Problem: fmt.Sprintf(format, args...)})
	}
	checkOne := func(f *field) {
		if !f.bag {
			if f.size > 0 {
				if s, ok := stringAt(f, base); ok && utf8.RuneCountInString(s) > f.size {
					fail(f, "%d characters, more than its size %d", utf8.RuneCountInString(s), f.size)
				}
			}
			return
		}
		vals := f.values(base)
		if insert && f.def != nil {
			f.bagDefault(base)
		}
		x := vals.m[f.column]
		if x == nil {
			if !f.nullable && !(insert && f.auto) {
				fail(f, "required")
			}
			return
		}
		v, problem := coerce(f.kind, f.size, x)
		if problem != "" {
			fail(f, "%s", problem)
			return
		}
		vals.m[f.column] = v
	}
	fields := only
	if fields == nil {
		fields = m.fields
	}
	for _, f := range fields {
		if f.packed != nil {
			for _, c := range f.packed {
				checkOne(c)
			}
			continue
		}
		checkOne(f)
	}
	if (m.hasBag || m.hasExtra) && only == nil {
		// A field of another tenant's, or a misspelt one, is refused rather
		// than dropped without a word.
		vals := (*values)(unsafe.Add(base, m.valuesOff))
		for k := range vals.m {
			if f := m.byCol[k]; f == nil || !f.bag {
				problems = append(problems, FieldError{Field: k, Problem: "no such field in " + m.name + m.forWhom()})
			}
		}
	}
	if len(problems) == 0 {
		return nil
	}
	slices.SortFunc(problems, func(a, b FieldError) int { return strings.Compare(a.Field, b.Field) })
	return &ValidationError{Model: m.name, Fields: problems}
}

func (m *Model) forWhom() string {
	if m.base != nil || m.hasExtra || m.dynamic { // a tenant may add custom fields
		return " for this tenant"
	}
	return ""
}

// stringAt returns the value of a string, *string or sql.NullString field.
func stringAt(f *field, base unsafe.Pointer) (string, bool) {
	v := reflectAt(f, base)
	switch {
	case v.Kind() == reflect.String:
		return v.String(), true
	case v.Kind() == reflect.Pointer && !v.IsNil() && v.Elem().Kind() == reflect.String:
		return v.Elem().String(), true
	case v.Kind() == reflect.Struct && v.NumField() == 2 && v.Field(0).Kind() == reflect.String:
		return v.Field(0).String(), v.Field(1).Bool()
	}
	return "", false
}
