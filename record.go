package tenantmap

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tenantmap/tenantmap/dialect"
)

// values holds fields that are not Go struct fields, by column name: the
// fields of a run-time model's Record and the custom fields a tenant adds to
// a struct model (Extra). Values are kept as Go values of a few types:
// string, int64, float64, bool, time.Time, []byte, json.RawMessage, or nil
// for NULL. Set takes any Go value and the write that stores the record
// converts it to its field's type, or reports why not.
type values struct {
	m map[string]any
}

// Get returns the value of the named field, nil if it is NULL or unset.
func (v *values) Get(name string) any { return v.m[name] }

// Has reports whether the named field is set (to NULL or a value).
func (v *values) Has(name string) bool {
	_, ok := v.m[name]
	return ok
}

// IsNull reports whether the named field is NULL or unset.
func (v *values) IsNull(name string) bool { return v.m[name] == nil }

// Names lists the fields that are set, sorted.
func (v *values) Names() []string { return slices.Sorted(maps.Keys(v.m)) }

// Set sets the named field. A value of a type the field cannot hold is
// reported, with the field's name, by the write that stores the record.
// Integers of every width are kept as int64, float32 as float64.
func (v *values) Set(name string, x any) {
	if v.m == nil {
		v.m = map[string]any{}
	}
	v.m[name] = canonical(x)
}

// SetNull sets the named field to NULL.
func (v *values) SetNull(name string) { v.Set(name, nil) }

// SetString sets a string (or uuid) field.
func (v *values) SetString(name, s string) { v.Set(name, s) }

// SetInt64 sets an integer field.
func (v *values) SetInt64(name string, n int64) { v.Set(name, n) }

// SetFloat64 sets a number field.
func (v *values) SetFloat64(name string, f float64) { v.Set(name, f) }

// SetBool sets a bool field.
func (v *values) SetBool(name string, b bool) { v.Set(name, b) }

// SetTime sets a time field.
func (v *values) SetTime(name string, t time.Time) { v.Set(name, t) }

// SetBytes sets a bytes field.
func (v *values) SetBytes(name string, b []byte) { v.Set(name, b) }

// SetJSON sets a JSON field to x encoded as JSON now, so that an error
// in encoding is reported here rather than by the write.
func (v *values) SetJSON(name string, x any) error {
	b, err := json.Marshal(x)
	if err != nil {
		return fmt.Errorf("field %s: %w", name, err)
	}
	v.Set(name, json.RawMessage(b))
	return nil
}

// Unset removes the named field, so that an insert gives it its default.
func (v *values) Unset(name string) { delete(v.m, name) }

// String returns a string field's value; "" if it is NULL, unset or not a string.
func (v *values) String(name string) string {
	s, _ := v.m[name].(string)
	return s
}

// Int64 returns an integer field's value; 0 if it is NULL, unset or not an integer.
func (v *values) Int64(name string) int64 {
	n, _ := coerceInt(v.m[name])
	return n
}

// Float64 returns a number field's value; 0 if it is NULL, unset or not a number.
func (v *values) Float64(name string) float64 {
	f, _ := coerceFloat(v.m[name])
	return f
}

// Bool returns a bool field's value; false if it is NULL, unset or not a bool.
func (v *values) Bool(name string) bool {
	b, _ := v.m[name].(bool)
	return b
}

// Time returns a time field's value; the zero time if it is NULL, unset or
// not a time.
func (v *values) Time(name string) time.Time {
	t, _ := coerceTime(v.m[name])
	return t
}

// Bytes returns a bytes field's value; nil if it is NULL, unset or not bytes.
func (v *values) Bytes(name string) []byte {
	b, _ := coerceBytes(v.m[name])
	return b
}

// Decode decodes a JSON field's value into dst, as json.Unmarshal does. A
// NULL or unset field leaves dst as it is.
func (v *values) Decode(name string, dst any) error {
	x := v.m[name]
	if x == nil {
		return nil
	}
	raw, err := coerceJSON(x)
	if err != nil {
		return fmt.Errorf("field %s: %w", name, err)
	}
	return json.Unmarshal(raw, dst)
}

// MarshalJSON writes the fields as one JSON object: times in RFC 3339,
// bytes in base64, JSON fields as they are.
func (v values) MarshalJSON() ([]byte, error) {
	if v.m == nil {
		return []byte("{}"), nil
	}
	return json.Marshal(v.m)
}

// UnmarshalJSON reads a JSON object as MarshalJSON writes it. Numbers are
// kept exact until a write gives them their field's type; objects and
// arrays are kept as JSON.
func (v *values) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	v.m = make(map[string]any, len(raw))
	for k, r := range raw {
		r = bytes.TrimSpace(r)
		switch {
		case len(r) == 0 || string(r) == "null":
			v.m[k] = nil
		case r[0] == '{' || r[0] == '[':
			v.m[k] = json.RawMessage(slices.Clone(r))
		case r[0] == '"':
			var s string
			if err := json.Unmarshal(r, &s); err != nil {
				return err
			}
			v.m[k] = s
		case string(r) == "true" || string(r) == "false":
			v.m[k] = string(r) == "true"
		default:
			v.m[k] = json.Number(r)
		}
	}
	return nil
}

// Record is one row of a model defined at run time (NewModel): its fields
// by name, with typed getters and setters. A Record read from a tenant's
// table also holds the custom fields that tenant adds. The zero Record is
// empty and ready to use; a Record is not safe for concurrent writes.
type Record struct {
	values
}

// NewRecord returns a record with the given fields set.
func NewRecord(fields map[string]any) *Record {
	r := &Record{}
	for k, v := range fields {
		r.Set(k, v)
	}
	return r
}

// Extra holds the custom fields a tenant adds to a struct model (see
// Tenants.AddField). Declare one field of type Extra in the struct; it is
// not a column, and reads fill it with the tenant's custom fields.
type Extra struct {
	values
}

// canonical turns integers into int64 and float32 into float64, so that
// equal values compare equal whatever their Go width.
func canonical(x any) any {
	switch n := x.(type) {
	case int:
		return int64(n)
	case int8:
		return int64(n)
	case int16:
		return int64(n)
	case int32:
		return int64(n)
	case uint8:
		return int64(n)
	case uint16:
		return int64(n)
	case uint32:
		return int64(n)
	case float32:
		return float64(n)
	}
	return x
}

func coerceInt(x any) (int64, bool) {
	switch n := canonical(x).(type) {
	case int64:
		return n, true
	case uint:
		return int64(n), n <= math.MaxInt64
	case uint64:
		return int64(n), n <= math.MaxInt64
	case float64:
		if n == math.Trunc(n) && n >= -(1<<63) && n < 1<<63 {
			return int64(n), true
		}
	case json.Number:
		i, err := n.Int64()
		return i, err == nil
	}
	return 0, false
}

func coerceFloat(x any) (float64, bool) {
	switch n := canonical(x).(type) {
	case float64:
		return n, !math.IsNaN(n) && !math.IsInf(n, 0)
	case int64:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

func coerceTime(x any) (time.Time, bool) {
	switch t := x.(type) {
	case time.Time:
		return t, true
	case string:
		p, err := time.Parse(time.RFC3339Nano, t)
		return p, err == nil
	}
	return time.Time{}, false
}

func coerceBytes(x any) ([]byte, bool) {
	switch b := x.(type) {
	case []byte:
		return b, true
	case string:
		p, err := base64.StdEncoding.DecodeString(b)
		return p, err == nil
	}
	return nil, false
}

func coerceJSON(x any) (json.RawMessage, error) {
	if r, ok := x.(json.RawMessage); ok {
		if !json.Valid(r) {
			return nil, errors.New("not valid JSON")
		}
		return r, nil
	}
	b, err := json.Marshal(x)
	if err != nil {
		return nil, err
	}
	return b, nil
}

// coerce converts x to the Go type that stores a field of kind k: string,
// int64, float64, bool, time.Time, []byte or json.RawMessage. The problem,
// if any, is phrased for a FieldError.
func coerce(k dialect.Kind, size int, x any) (any, string) {
	switch k {
	case dialect.String, dialect.UUID:
		s, ok := x.(string)
		if !ok {
			return nil, fmt.Sprintf("want a string, not %T", x)
		}
		if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
			return nil, "not valid UTF-8 text (or holds a NUL byte)"
		}
		if k == dialect.UUID {
			if !isUUID(s) {
				return nil, fmt.Sprintf("%q is not a UUID", truncate(s, 40))
			}
			s = strings.ToLower(s) // one spelling: SQLite compares UUIDs as text
		}
		if size > 0 && utf8.RuneCountInString(s) > size {
			return nil, fmt.Sprintf("%d characters, more than its size %d", utf8.RuneCountInString(s), size)
		}
		return s, ""
	case dialect.Int16, dialect.Int32, dialect.Int64:
		n, ok := coerceInt(x)
		if !ok {
			return nil, fmt.Sprintf("want an integer, not %s", describeValue(x))
		}
		lo, hi := intRange(k)
		if n < lo || n > hi {
			return nil, fmt.Sprintf("%d is out of range for %s", n, k)
		}
		return n, ""
	case dialect.Float32, dialect.Float64:
		f, ok := coerceFloat(x)
		if !ok {
			return nil, fmt.Sprintf("want a finite number, not %s", describeValue(x))
		}
		if k == dialect.Float32 && math.Abs(f) > math.MaxFloat32 {
			return nil, fmt.Sprintf("%g is out of range for float32", f)
		}
		return f, ""
	case dialect.Bool:
		b, ok := x.(bool)
		if !ok {
			return nil, fmt.Sprintf("want a bool, not %s", describeValue(x))
		}
		return b, ""
	case dialect.Time:
		t, ok := coerceTime(x)
		if !ok {
			return nil, fmt.Sprintf("want a time.Time (or RFC 3339 text), not %s", describeValue(x))
		}
		if y := t.UTC().Year(); y < 1 || y > 9999 {
			return nil, fmt.Sprintf("the year %d is outside 1-9999, which every database keeps", y)
		}
		return t, ""
	case dialect.Bytes:
		b, ok := coerceBytes(x)
		if !ok {
			return nil, fmt.Sprintf("want []byte (or base64 text), not %s", describeValue(x))
		}
		return b, ""
	case dialect.JSON:
		r, err := coerceJSON(x)
		if err != nil {
			return nil, "cannot be stored as JSON: " + err.Error()
		}
		return r, ""
	}
	return nil, fmt.Sprintf("unsupported kind %s", k)
}

func describeValue(x any) string {
	if s, ok := x.(string); ok {
		return fmt.Sprintf("the string %q", truncate(s, 40))
	}
	return fmt.Sprintf("%T", x)
}

func intRange(k dialect.Kind) (int64, int64) {
	switch k {
	case dialect.Int16:
		return math.MinInt16, math.MaxInt16
	case dialect.Int32:
		return math.MinInt32, math.MaxInt32
	}
	return math.MinInt64, math.MaxInt64
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// FieldError is one field's problem in a record that a write refused.
type FieldError struct {
	Field   string // the field's (column's) name
	Problem string
}

func (e FieldError) Error() string { return e.Field + ": " + e.Problem }

// ValidationError is a record refused before any SQL ran, with every
// field's problem. It matches ErrInvalidRecord.
type ValidationError struct {
	Model  string
	Fields []FieldError
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("tenantmap: invalid ")
	b.WriteString(e.Model)
	b.WriteString(" record: ")
	for i, f := range e.Fields {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(f.Error())
	}
	return b.String()
}

func (e *ValidationError) Unwrap() error { return ErrInvalidRecord }

// Field returns the problem of the named field, "" if it has none.
func (e *ValidationError) Field(name string) string {
	for _, f := range e.Fields {
		if f.Field == name {
			return f.Problem
		}
	}
	return ""
}
