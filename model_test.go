package tenantmap

import (
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"github.com/tenantmap/tenantmap/dialect/postgres"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tenantmap/tenantmap/dialect"
)

// compileNoPanic compiles t, turning a panic into a test failure: a struct
// a user writes is run-time input to Register, so no struct may panic.
func compileNoPanic(t *testing.T, typ reflect.Type, name string) (m *Model, err error) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("compileModel(%s) panicked: %v", typ, r)
		}
	}()
	return compileModel(typ, name)
}

func mustCompile(t *testing.T, typ reflect.Type, name string) *Model {
	t.Helper()
	m, err := compileNoPanic(t, typ, name)
	if err != nil {
		t.Fatalf("compileModel(%s): %v", typ, err)
	}
	return m
}

func TestModelSnakeCase(t *testing.T) {
	tests := []struct{ in, want string }{
		{"ID", "id"},
		{"Title", "title"},
		{"CreatedAt", "created_at"},
		{"UserID", "user_id"},
		{"HTTPCode", "http_code"},
		{"APIKey", "api_key"},
		{"Field2", "field2"},
		{"Field2Name", "field2_name"},
		{"already_snake", "already_snake"},
		{"A", "a"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := snakeCase(tt.in); got != tt.want {
			t.Errorf("snakeCase(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// Types used by the model tests.
type (
	modelAddress struct {
		Street string
		City   string
	}
	modelBase struct {
		ID        int64
		CreatedAt time.Time
	}
	modelAudit struct {
		UpdatedBy string
	}
	modelUnexportedBase struct {
		ID int64
	}
	modelScanner struct{ s string }

	modelEverything struct {
		ID        int64
		Title     string `tm:",size:200"`
		UserID    int32
		HTTPCode  int16
		CreatedAt time.Time
		Small     int8
		Byte      uint8
		Word      uint16
		Dword     uint32
		Plain     int
		Ratio     float32
		Score     float64
		Done      bool
		Blob      []byte
		Nick      *string
		Count     *int64
		When      *time.Time
		NStr      sql.NullString
		NInt      sql.NullInt64
		NInt32    sql.NullInt32
		NInt16    sql.NullInt16
		NByte     sql.NullByte
		NBool     sql.NullBool
		NFloat    sql.NullFloat64
		NTime     sql.NullTime
		GInt      sql.Null[int64]
		GStr      sql.Null[string]
		GTime     sql.Null[time.Time]
		PNStr     *sql.NullString
		Tags      []string
		Attrs     map[string]any
		Address   modelAddress
		PAddress  *modelAddress
		Raw       json.RawMessage
		AsJSON    string `tm:",json"`
		Custom    modelScanner
		Renamed   string `tm:"other_name"`
		Skipped   string `tm:"-"`
		Fn        func() `tm:"-"`
		unexposed chan int
	}
)

func (s *modelScanner) Scan(v any) error            { s.s, _ = v.(string); return nil }
func (s modelScanner) Value() (driver.Value, error) { return s.s, nil }

// colWant is what a compiled column should be.
type colWant struct {
	column   string
	goName   string
	kind     dialect.Kind
	nullable bool
	json     bool
	pk, auto bool
	size     int
}

func describeFields(m *Model) []colWant {
	var out []colWant
	for _, f := range m.fields {
		out = append(out, colWant{f.column, f.goName, f.kind, f.nullable, f.json, f.pk, f.auto, f.size})
	}
	return out
}

func TestModelColumns(t *testing.T) {
	type withEmbedded struct {
		modelBase
		modelAudit
		Title string
	}
	type withUnexportedEmbedded struct {
		modelUnexportedBase
		Name string
	}
	type Audit struct{ UpdatedBy string }
	type taggedEmbedded struct {
		ID      int64
		Address modelAddress `tm:"addr"`
		Audit   `tm:"audit"`
	}
	tests := []struct {
		name string
		typ  reflect.Type
		want []colWant
	}{
		{
			name: "everything",
			typ:  reflect.TypeFor[modelEverything](),
			want: []colWant{
				{column: "id", goName: "ID", kind: dialect.Int64, pk: true, auto: true},
				{column: "title", goName: "Title", kind: dialect.String, size: 200},
				{column: "user_id", goName: "UserID", kind: dialect.Int32},
				{column: "http_code", goName: "HTTPCode", kind: dialect.Int16},
				{column: "created_at", goName: "CreatedAt", kind: dialect.Time},
				{column: "small", goName: "Small", kind: dialect.Int16},
				{column: "byte", goName: "Byte", kind: dialect.Int16},
				{column: "word", goName: "Word", kind: dialect.Int32},
				{column: "dword", goName: "Dword", kind: dialect.Int64},
				{column: "plain", goName: "Plain", kind: dialect.Int64},
				{column: "ratio", goName: "Ratio", kind: dialect.Float32},
				{column: "score", goName: "Score", kind: dialect.Float64},
				{column: "done", goName: "Done", kind: dialect.Bool},
				{column: "blob", goName: "Blob", kind: dialect.Bytes, nullable: true}, // a nil []byte is NULL
				{column: "nick", goName: "Nick", kind: dialect.String, nullable: true},
				{column: "count", goName: "Count", kind: dialect.Int64, nullable: true},
				{column: "when", goName: "When", kind: dialect.Time, nullable: true},
				{column: "n_str", goName: "NStr", kind: dialect.String, nullable: true},
				{column: "n_int", goName: "NInt", kind: dialect.Int64, nullable: true},
				{column: "n_int32", goName: "NInt32", kind: dialect.Int32, nullable: true},
				{column: "n_int16", goName: "NInt16", kind: dialect.Int16, nullable: true},
				{column: "n_byte", goName: "NByte", kind: dialect.Int16, nullable: true},
				{column: "n_bool", goName: "NBool", kind: dialect.Bool, nullable: true},
				{column: "n_float", goName: "NFloat", kind: dialect.Float64, nullable: true},
				{column: "n_time", goName: "NTime", kind: dialect.Time, nullable: true},
				{column: "g_int", goName: "GInt", kind: dialect.Int64, nullable: true},
				{column: "g_str", goName: "GStr", kind: dialect.String, nullable: true},
				{column: "g_time", goName: "GTime", kind: dialect.Time, nullable: true},
				{column: "pn_str", goName: "PNStr", kind: dialect.String, nullable: true},
				{column: "tags", goName: "Tags", kind: dialect.JSON, json: true, nullable: true},
				{column: "attrs", goName: "Attrs", kind: dialect.JSON, json: true, nullable: true},
				{column: "address", goName: "Address", kind: dialect.JSON, json: true},
				{column: "p_address", goName: "PAddress", kind: dialect.JSON, json: true, nullable: true},
				{column: "raw", goName: "Raw", kind: dialect.JSON, json: true, nullable: true},
				{column: "as_json", goName: "AsJSON", kind: dialect.JSON, json: true},
				{column: "custom", goName: "Custom", kind: dialect.String},
				{column: "other_name", goName: "Renamed", kind: dialect.String},
			},
		},
		{
			name: "embedded structs are flattened",
			typ:  reflect.TypeFor[withEmbedded](),
			want: []colWant{
				{column: "id", goName: "modelBase.ID", kind: dialect.Int64, pk: true, auto: true},
				{column: "created_at", goName: "modelBase.CreatedAt", kind: dialect.Time},
				{column: "updated_by", goName: "modelAudit.UpdatedBy", kind: dialect.String},
				{column: "title", goName: "Title", kind: dialect.String},
			},
		},
		{
			name: "unexported embedded struct with exported fields",
			typ:  reflect.TypeFor[withUnexportedEmbedded](),
			want: []colWant{
				{column: "id", goName: "modelUnexportedBase.ID", kind: dialect.Int64, pk: true, auto: true},
				{column: "name", goName: "Name", kind: dialect.String},
			},
		},
		{
			name: "tagged struct fields are JSON columns, not flattened",
			typ:  reflect.TypeFor[taggedEmbedded](),
			want: []colWant{
				{column: "id", goName: "ID", kind: dialect.Int64, pk: true, auto: true},
				{column: "addr", goName: "Address", kind: dialect.JSON, json: true},
				{column: "audit", goName: "Audit", kind: dialect.JSON, json: true},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustCompile(t, tt.typ, "")
			got := describeFields(m)
			if !slices.Equal(got, tt.want) {
				for i := range max(len(got), len(tt.want)) {
					var g, w colWant
					if i < len(got) {
						g = got[i]
					}
					if i < len(tt.want) {
						w = tt.want[i]
					}
					if g != w {
						t.Errorf("column %d:\n got  %+v\n want %+v", i, g, w)
					}
				}
			}
			var wantCols []string
			for _, w := range tt.want {
				wantCols = append(wantCols, w.column)
			}
			if got := m.Columns(); !slices.Equal(got, wantCols) {
				t.Errorf("Columns() = %v, want %v", got, wantCols)
			}
			if m.Key() != "id" {
				t.Errorf("Key() = %q, want id", m.Key())
			}
			for _, f := range m.fields {
				if m.byCol[f.column] != f {
					t.Errorf("byCol[%q] does not point at field %s", f.column, f.goName)
				}
			}
		})
	}
}

// TestModelOffsets checks the field offsets of flattened embedded structs
// against the offsets reflect reports for the promoted fields: a wrong
// offset would read and write the wrong memory.
func TestModelOffsets(t *testing.T) {
	type inner struct {
		Pad  int16
		Deep string
	}
	type middle struct {
		A int8
		inner
	}
	type outer struct {
		Flag bool
		middle
		ID int64
	}
	typ := reflect.TypeFor[outer]()
	m := mustCompile(t, typ, "")
	tests := []struct {
		column string
		path   []int // reflect field index path
	}{
		{"flag", []int{0}},
		{"a", []int{1, 0}},
		{"pad", []int{1, 1, 0}},
		{"deep", []int{1, 1, 1}},
		{"id", []int{2}},
	}
	for _, tt := range tests {
		f := m.byCol[tt.column]
		if f == nil {
			t.Errorf("no column %q; columns %v", tt.column, m.Columns())
			continue
		}
		var want uintptr
		cur := typ
		for _, i := range tt.path {
			sf := cur.Field(i)
			want += sf.Offset
			cur = sf.Type
		}
		if f.offset != want {
			t.Errorf("column %q: offset %d, want %d", tt.column, f.offset, want)
		}
	}
}

func TestModelSkipsFields(t *testing.T) {
	m := mustCompile(t, reflect.TypeFor[modelEverything](), "")
	for _, col := range []string{"skipped", "fn", "unexposed"} {
		if m.byCol[col] != nil || slices.Contains(m.Columns(), col) {
			t.Errorf("column %q should be skipped; columns %v", col, m.Columns())
		}
	}
	if !m.hasJSON {
		t.Errorf("hasJSON = false for a model with JSON columns")
	}
	type noJSON struct {
		ID    int64
		Title string
	}
	if mustCompile(t, reflect.TypeFor[noJSON](), "").hasJSON {
		t.Errorf("hasJSON = true for a model without JSON columns")
	}
}

func TestModelName(t *testing.T) {
	type CaseFile struct{ ID int64 }
	tests := []struct {
		name     string
		option   string
		want     string
		wantErrs []string
	}{
		{name: "from the struct name", want: "case_file"},
		{name: "explicit", option: "cases", want: "cases"},
		{name: "explicit uppercase refused", option: "Cases", wantErrs: []string{`model name "Cases"`}},
		{name: "explicit with dash refused", option: "my-cases", wantErrs: []string{`model name "my-cases"`}},
		{name: "too long refused", option: strings.Repeat("a", maxNameLength+1), wantErrs: []string{"model name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := compileNoPanic(t, reflect.TypeFor[CaseFile](), tt.option)
			checkModelErr(t, err, tt.wantErrs)
			if err == nil && m.Name() != tt.want {
				t.Errorf("Name() = %q, want %q", m.Name(), tt.want)
			}
		})
	}
	t.Run("anonymous struct needs a name", func(t *testing.T) {
		_, err := compileNoPanic(t, reflect.TypeFor[struct{ ID int64 }](), "")
		checkModelErr(t, err, []string{"model name"})
	})
	t.Run("not a struct", func(t *testing.T) {
		for _, typ := range []reflect.Type{reflect.TypeFor[int](), reflect.TypeFor[*CaseFile](), reflect.TypeFor[[]CaseFile]()} {
			_, err := compileNoPanic(t, typ, "x")
			checkModelErr(t, err, []string{"not a struct"})
		}
	})
}

func TestModelPrimaryKey(t *testing.T) {
	type intID struct {
		Title string
		ID    int64
	}
	type int32ID struct{ ID int32 }
	type stringID struct {
		ID   string
		Name string
	}
	type taggedString struct {
		Name string
		Code string `tm:",pk"`
	}
	type taggedUUID struct {
		Key string `tm:"key,pk,type:uuid"`
	}
	type tagOverridesID struct {
		ID   int64
		Slug string `tm:",pk"`
	}
	type renamedID struct {
		Num int64 `tm:"id"`
	}
	tests := []struct {
		name   string
		typ    reflect.Type
		pk     string
		kind   dialect.Kind
		auto   bool
		others []string // the other columns, in order
	}{
		{"int ID is generated and moved first", reflect.TypeFor[intID](), "id", dialect.Int64, true, []string{"title"}},
		{"int32 ID is generated", reflect.TypeFor[int32ID](), "id", dialect.Int32, true, nil},
		{"string ID is set by the caller", reflect.TypeFor[stringID](), "id", dialect.String, false, []string{"name"}},
		{"tagged string pk", reflect.TypeFor[taggedString](), "code", dialect.String, false, []string{"name"}},
		{"tagged uuid pk", reflect.TypeFor[taggedUUID](), "key", dialect.UUID, false, nil},
		{"a tag wins over a field named ID", reflect.TypeFor[tagOverridesID](), "slug", dialect.String, false, []string{"id"}},
		{"a field tagged id is the key", reflect.TypeFor[renamedID](), "id", dialect.Int64, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustCompile(t, tt.typ, "x")
			if m.pk == nil {
				t.Fatal("no pk")
			}
			if m.Key() != tt.pk || m.pk.kind != tt.kind || m.pk.auto != tt.auto || !m.pk.pk {
				t.Errorf("pk = %s kind %s auto %v pk %v, want %s kind %s auto %v", m.pk.column, m.pk.kind, m.pk.auto, m.pk.pk, tt.pk, tt.kind, tt.auto)
			}
			if m.fields[0] != m.pk {
				t.Errorf("the key is not the first column: %v", m.Columns())
			}
			if got := m.Columns()[1:]; !slices.Equal(got, tt.others) && !(len(got) == 0 && tt.others == nil) {
				t.Errorf("other columns = %v, want %v", got, tt.others)
			}
			npk := 0
			for _, f := range m.fields {
				if f.pk {
					npk++
				}
				if f.auto && !f.pk {
					t.Errorf("column %s is auto but not the key", f.column)
				}
			}
			if npk != 1 {
				t.Errorf("%d columns marked pk, want 1", npk)
			}
		})
	}
}

func TestModelIndexes(t *testing.T) {
	type indexed struct {
		ID      int64
		Email   string `tm:",unique"`
		Status  string `tm:",index"`
		Owner   string `tm:",index:by_owner_created"`
		Created int64  `tm:",index:by_owner_created,unique:owner_created"`
		Tenant  string `tm:",unique:owner_created,index:same"`
		Same    string `tm:",unique:same"`
	}
	m := mustCompile(t, reflect.TypeFor[indexed](), "")
	type ixWant struct {
		name   string
		unique bool
		cols   []string
	}
	want := []ixWant{
		{"email", true, []string{"email"}},
		{"status", false, []string{"status"}},
		{"by_owner_created", false, []string{"owner", "created"}},
		{"owner_created", true, []string{"created", "tenant"}},
		{"same", false, []string{"tenant"}},
		{"same", true, []string{"same"}},
	}
	var got []ixWant
	for _, ix := range m.indexes {
		w := ixWant{name: ix.name, unique: ix.unique}
		for _, f := range ix.cols {
			w.cols = append(w.cols, f.column)
		}
		got = append(got, w)
	}
	if len(got) != len(want) {
		t.Fatalf("indexes = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].name != want[i].name || got[i].unique != want[i].unique || !slices.Equal(got[i].cols, want[i].cols) {
			t.Errorf("index %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestModelDefaults(t *testing.T) {
	type defaults struct {
		ID      string
		Count   int       `tm:",default:7"`
		Neg     int16     `tm:",default:-3"`
		Small   uint8     `tm:",default:255"`
		Ratio   float64   `tm:",default:0.5"`
		Ratio32 float32   `tm:",default:1.25"`
		On      bool      `tm:",default:true"`
		Off     bool      `tm:",default:false"`
		Status  string    `tm:",default:open"`
		Quote   string    `tm:",default:it's"`
		Colon   string    `tm:",default:a:b"`
		Empty   string    `tm:",default:"`
		Created time.Time `tm:",default:now"`
		PCount  *int64    `tm:",default:9"`
		PStatus *string   `tm:",default:new"`
		None    string
	}
	m := mustCompile(t, reflect.TypeFor[defaults](), "")
	tests := []struct {
		column string
		sql    string
		value  any // nil for "now"
		now    bool
	}{
		{"count", "7", int(7), false},
		{"neg", "-3", int16(-3), false},
		{"small", "255", uint8(255), false},
		{"ratio", "0.5", float64(0.5), false},
		{"ratio32", "1.25", float32(1.25), false},
		{"on", "TRUE", true, false},
		{"off", "FALSE", false, false},
		{"status", "'open'", "open", false},
		{"quote", "'it''s'", "it's", false},
		{"colon", "'a:b'", "a:b", false},
		{"empty", "''", "", false},
		{"created", "CURRENT_TIMESTAMP", nil, true},
		{"p_count", "9", int64(9), false},
		{"p_status", "'new'", "new", false},
	}
	for _, tt := range tests {
		f := m.byCol[tt.column]
		if f == nil {
			t.Fatalf("no column %q", tt.column)
		}
		if f.def == nil {
			t.Errorf("column %q: no default", tt.column)
			continue
		}
		if got := f.def.literal(postgres.Dialect{}); got != tt.sql || f.def.now != tt.now {
			t.Errorf("column %q: default sql %q now %v, want %q now %v", tt.column, got, f.def.now, tt.sql, tt.now)
		}
		if tt.value != nil {
			if !f.def.value.IsValid() {
				t.Errorf("column %q: no default value", tt.column)
			} else if got := f.def.value.Interface(); got != tt.value {
				t.Errorf("column %q: default value %#v, want %#v", tt.column, got, tt.value)
			}
		}
	}
	if m.byCol["none"].def != nil {
		t.Errorf("column none has a default it was not given")
	}
}

// checkModelErr asserts err wraps ErrInvalidModel and names every want, or
// is nil when want is empty.
func checkModelErr(t *testing.T, err error, want []string) {
	t.Helper()
	if len(want) == 0 {
		if err != nil {
			t.Errorf("unexpected error: %v", err)
		}
		return
	}
	if err == nil {
		t.Errorf("no error, want one naming %q", want)
		return
	}
	if !errors.Is(err, ErrInvalidModel) {
		t.Errorf("error does not wrap ErrInvalidModel: %v", err)
	}
	if !strings.HasPrefix(err.Error(), "tenantmap: ") {
		t.Errorf("error not prefixed with tenantmap: %v", err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not mention %q:\n%v", w, err)
		}
	}
}

func TestModelErrors(t *testing.T) {
	type chanField struct {
		ID int64
		C  chan int
	}
	type funcField struct {
		ID int64
		F  func()
	}
	type complexField struct {
		ID int64
		C  complex128
	}
	type uint64Field struct {
		ID int64
		U  uint64
	}
	type uintField struct {
		ID int64
		U  uint
	}
	type ifaceField struct {
		ID int64
		V  any
	}
	type arrayField struct {
		ID int64
		A  [4]int
	}
	type ptrPtrField struct {
		ID int64
		P  **int
	}
	type nullOfStruct struct {
		ID int64
		N  sql.Null[modelAddress]
	}
	type unknownOption struct {
		ID    int64
		Title string `tm:",sise:10"`
	}
	type badSize struct {
		ID    int64
		Title string `tm:",size:big"`
	}
	type zeroSize struct {
		ID    int64
		Title string `tm:",size:0"`
	}
	type sizeOnInt struct {
		ID int64
		N  int `tm:",size:10"`
	}
	type unknownType struct {
		ID int64
		U  string `tm:",type:inet"`
	}
	type uuidOnInt struct {
		ID int64
		U  int64 `tm:",type:uuid"`
	}
	type badColumnName struct {
		ID int64
		X  string `tm:"Bad-Name"`
	}
	type defaultNoValue struct {
		ID int64
		N  int `tm:",default"`
	}
	type defaultWrongInt struct {
		ID int64
		N  int `tm:",default:seven"`
	}
	type defaultOverflow struct {
		ID int64
		N  int8 `tm:",default:300"`
	}
	type defaultNegUint struct {
		ID int64
		N  uint16 `tm:",default:-1"`
	}
	type defaultWrongBool struct {
		ID int64
		B  bool `tm:",default:yes"`
	}
	type defaultWrongFloat struct {
		ID int64
		F  float64 `tm:",default:half"`
	}
	type defaultWrongTime struct {
		ID int64
		T  time.Time `tm:",default:yesterday"`
	}
	type defaultOnJSON struct {
		ID int64
		J  []string `tm:",default:x"`
	}
	type defaultOnNullString struct {
		ID int64
		S  sql.NullString `tm:",default:x"`
	}
	type defaultNUL struct {
		ID int64
		S  string `tm:",default:a\x00b"`
	}
	type noPK struct {
		Name string
	}
	type twoPKs struct {
		A string `tm:",pk"`
		B string `tm:",pk"`
	}
	type floatPK struct {
		ID float64
	}
	type nullablePK struct {
		ID *int64
	}
	type defaultPK struct {
		ID string `tm:",default:x"`
	}
	type duplicateColumns struct {
		ID    int64
		Name  string
		Name2 string `tm:"name"`
	}
	type embeddedDuplicate struct {
		modelBase
		CreatedAt time.Time
	}
	type badIndexName struct {
		ID int64
		N  string `tm:",index:By-Name"`
	}
	tests := []struct {
		name string
		typ  reflect.Type
		want []string
	}{
		{"chan", reflect.TypeFor[chanField](), []string{"field C", "unsupported type chan int"}},
		{"func", reflect.TypeFor[funcField](), []string{"field F", "unsupported type func()"}},
		{"complex128", reflect.TypeFor[complexField](), []string{"field C", "unsupported type complex128"}},
		{"uint64", reflect.TypeFor[uint64Field](), []string{"field U", "unsupported type uint64"}},
		{"uint", reflect.TypeFor[uintField](), []string{"field U", "unsupported type uint"}},
		{"interface", reflect.TypeFor[ifaceField](), []string{"field V", "unsupported type interface {}"}},
		{"array", reflect.TypeFor[arrayField](), []string{"field A", "unsupported type [4]int"}},
		{"pointer to pointer", reflect.TypeFor[ptrPtrField](), []string{"field P", "unsupported type **int"}},
		{"sql.Null of a struct", reflect.TypeFor[nullOfStruct](), []string{"field N", "sql.Null"}},
		{"unknown tag option", reflect.TypeFor[unknownOption](), []string{"field Title", `unknown tag option "sise"`}},
		{"size not a number", reflect.TypeFor[badSize](), []string{"field Title", `size "big"`}},
		{"size zero", reflect.TypeFor[zeroSize](), []string{"field Title", `size "0"`}},
		{"size on an int", reflect.TypeFor[sizeOnInt](), []string{"field N", "size applies to string fields only"}},
		{"unknown type", reflect.TypeFor[unknownType](), []string{"field U", `unknown type "inet"`}},
		{"uuid on an int", reflect.TypeFor[uuidOnInt](), []string{"field U", "type:uuid needs a string field"}},
		{"bad column name", reflect.TypeFor[badColumnName](), []string{"field X", `column name "Bad-Name"`}},
		{"default without a value", reflect.TypeFor[defaultNoValue](), []string{"field N", "default needs a value"}},
		{"default not an int", reflect.TypeFor[defaultWrongInt](), []string{"field N", `default "seven"`, "not an integer"}},
		{"default overflows int8", reflect.TypeFor[defaultOverflow](), []string{"field N", `default "300"`, "out of range"}},
		{"negative default on uint", reflect.TypeFor[defaultNegUint](), []string{"field N", `default "-1"`, "out of range"}},
		{"default not a bool", reflect.TypeFor[defaultWrongBool](), []string{"field B", `default "yes"`, "not a bool"}},
		{"default not a float", reflect.TypeFor[defaultWrongFloat](), []string{"field F", `default "half"`, "not a finite number"}},
		{"time default other than now", reflect.TypeFor[defaultWrongTime](), []string{"field T", `default "yesterday"`}},
		{"default on JSON", reflect.TypeFor[defaultOnJSON](), []string{"field J", "not supported on json"}},
		{"default on sql.NullString", reflect.TypeFor[defaultOnNullString](), []string{"field S", "plain string fields only"}},
		{"default with NUL", reflect.TypeFor[defaultNUL](), []string{"field S", "NUL"}},
		{"no primary key", reflect.TypeFor[noPK](), []string{"no primary key"}},
		{"two primary keys", reflect.TypeFor[twoPKs](), []string{"2 primary keys", "A", "B"}},
		{"float primary key", reflect.TypeFor[floatPK](), []string{"field ID", "primary key must be an integer"}},
		{"nullable primary key", reflect.TypeFor[nullablePK](), []string{"field ID", "cannot be nullable"}},
		{"primary key with default", reflect.TypeFor[defaultPK](), []string{"field ID", "cannot have a default"}},
		{"duplicate columns", reflect.TypeFor[duplicateColumns](), []string{"fields Name and Name2", `column "name"`}},
		{"embedded field clashes with outer field", reflect.TypeFor[embeddedDuplicate](), []string{"modelBase.CreatedAt", `column "created_at"`}},
		{"bad index name", reflect.TypeFor[badIndexName](), []string{"field N", `index name "By-Name"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := compileNoPanic(t, tt.typ, "x")
			if m != nil {
				t.Errorf("compileModel returned a model along with an error")
			}
			checkModelErr(t, err, tt.want)
		})
	}
}

// TestModelErrorsAllAtOnce: a struct with many problems gets one error that
// names every one of them, so the programmer fixes them in one pass.
func TestModelErrorsAllAtOnce(t *testing.T) {
	type manyProblems struct {
		A  string `tm:",pk"`
		B  string `tm:",pk"`
		C  chan int
		F  func()
		X  complex128
		U  uint64
		I  any
		T  string `tm:",frobnicate"`
		S  string `tm:",size:-1"`
		D  int    `tm:",default:many"`
		N  string
		N2 string `tm:"n"`
	}
	_, err := compileNoPanic(t, reflect.TypeFor[manyProblems](), "")
	checkModelErr(t, err, []string{
		"many_problems",
		"2 primary keys (A, B)",
		"field C: unsupported type chan int",
		"field F: unsupported type func()",
		"field X: unsupported type complex128",
		"field U: unsupported type uint64",
		"field I: unsupported type interface {}",
		`field T: unknown tag option "frobnicate"`,
		`field S: size "-1"`,
		`field D: default "many"`,
		`fields N and N2 both map to column "n"`,
	})
	// Each problem is its own error in the join, so errors.Is/As can walk them.
	if err != nil {
		if n := strings.Count(err.Error(), "\n") + 1; n != 10 {
			t.Errorf("error has %d lines, want one per problem (10):\n%v", n, err)
		}
	}
}

// TestModelFloatDefaults: a float default must be one the database can
// store in the column; otherwise the model compiles and every tenant's
// CREATE TABLE fails later. strconv.ParseFloat accepts "NaN" and "Inf",
// which FormatFloat renders as NaN and +Inf: PostgreSQL reads those as
// column references ("cannot use column reference in DEFAULT expression")
// and SQLite as a syntax error. A float32 default of 1e40 overflows REAL.
func TestModelFloatDefaults(t *testing.T) {
	type nanDefault struct {
		ID int64
		F  float64 `tm:",default:NaN"`
	}
	type infDefault struct {
		ID int64
		F  float64 `tm:",default:Inf"`
	}
	type negInfDefault struct {
		ID int64
		F  float64 `tm:",default:-Infinity"`
	}
	type float32Overflow struct {
		ID int64
		F  float32 `tm:",default:1e40"`
	}
	tests := []struct {
		name string
		typ  reflect.Type
	}{
		{"NaN", reflect.TypeFor[nanDefault]()},
		{"Inf", reflect.TypeFor[infDefault]()},
		{"-Infinity", reflect.TypeFor[negInfDefault]()},
		{"float32 overflow", reflect.TypeFor[float32Overflow]()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := compileNoPanic(t, tt.typ, "x")
			if err == nil {
				t.Errorf("default accepted, rendered as DEFAULT %s; want an ErrInvalidModel error", m.byCol["f"].def.literal(postgres.Dialect{}))
				return
			}
			checkModelErr(t, err, []string{"field F"})
		})
	}
}
