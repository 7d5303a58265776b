package tenantmap_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenantmap/tenantmap"
)

// Tests of per-tenant custom fields (Tenants.AddField, RenameField,
// DropField, CustomFields) over every backend. The struct model is Note
// (watch_test.go), which has an Extra field; cf_item is a run-time model;
// cf_plain is a struct without an Extra field, which cannot take any.

// cfPlain is a struct model without a tenantmap.Extra field.
type cfPlain struct {
	ID   int64
	Body string
}

// cfItemDoc is the run-time model of these tests. Its index x_legacy is
// named as a custom field "legacy" would name its own.
const cfItemDoc = `{"name": "cf_item", "fields": [
  {"name": "id", "type": "int64"},
  {"name": "title", "type": "string", "size": 60},
  {"name": "rank", "type": "int32", "default": 0}
], "indexes": [{"name": "x_legacy", "fields": ["rank"]}]}`

type cfFixture struct {
	db    *tenantmap.DB
	notes *tenantmap.Table[Note]
	items *tenantmap.Table[tenantmap.Record]
	plain *tenantmap.Table[cfPlain]
}

// cfOpen opens a fresh database of backend b with Note, cf_item and
// cf_plain registered, and creates the tenants.
func cfOpen(t *testing.T, b backend, tenants ...string) cfFixture {
	t.Helper()
	db := b.open(t)
	f := cfFixture{db: db}
	var err error
	if f.notes, err = tenantmap.Register[Note](db, b.strategy("{tenant}_note")); err != nil {
		t.Fatal(err)
	}
	s, err := tenantmap.ParseModelDoc([]byte(cfItemDoc))
	if err != nil {
		t.Fatal(err)
	}
	m, err := tenantmap.NewModel(*s)
	if err != nil {
		t.Fatal(err)
	}
	if f.items, err = tenantmap.RegisterModel(db, m, b.strategy("{tenant}_cf_item")); err != nil {
		t.Fatal(err)
	}
	if f.plain, err = tenantmap.Register[cfPlain](db, b.strategy("{tenant}_cf_plain"), tenantmap.ModelName("cf_plain")); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, db, tenants...)
	return f
}

var cfBG = context.Background()

func cfAdd(t testing.TB, db *tenantmap.DB, id, model string, fds ...tenantmap.FieldDef) {
	t.Helper()
	for _, fd := range fds {
		if err := db.Tenants().AddField(cfBG, id, model, fd); err != nil {
			t.Fatalf("AddField(%s, %s, %+v): %v", id, model, fd, err)
		}
	}
}

// cfTable is the tenant's table of model as the database has it.
func cfTable(t testing.TB, db *tenantmap.DB, id, model string) tenantmap.TableInfo {
	t.Helper()
	info, err := db.Describe(tctx(id), model)
	if err != nil {
		t.Fatalf("Describe(%s, %s): %v", id, model, err)
	}
	return info
}

func cfColumns(t testing.TB, db *tenantmap.DB, id, model string) []string {
	t.Helper()
	var out []string
	for _, c := range cfTable(t, db, id, model).Columns {
		out = append(out, c.Name)
	}
	return out
}

// cfMinus is what a has that b lacks, in a's order.
func cfMinus(a, b []string) []string {
	var out []string
	for _, s := range a {
		if !slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}

// cfIndexOn returns the tenant's indexes of model on exactly the one column.
func cfIndexOn(t testing.TB, db *tenantmap.DB, id, model, column string) []tenantmap.IndexInfo {
	t.Helper()
	var out []tenantmap.IndexInfo
	for _, ix := range cfTable(t, db, id, model).Indexes {
		if slices.Equal(ix.Columns, []string{column}) {
			out = append(out, ix)
		}
	}
	return out
}

func cfVersion(t testing.TB, db *tenantmap.DB, id string) int64 {
	t.Helper()
	ten, err := db.Tenants().Get(cfBG, id)
	if err != nil {
		t.Fatal(err)
	}
	return ten.Version
}

func cfFields(t testing.TB, db *tenantmap.DB, id, model string) []tenantmap.FieldDef {
	t.Helper()
	fds, err := db.Tenants().CustomFields(cfBG, id, model)
	if err != nil {
		t.Fatalf("CustomFields(%s, %s): %v", id, model, err)
	}
	return fds
}

func cfFieldNames(t testing.TB, db *tenantmap.DB, id, model string) []string {
	t.Helper()
	var out []string
	for _, fd := range cfFields(t, db, id, model) {
		out = append(out, fd.Name)
	}
	return out
}

func cfNamesOf(fds []tenantmap.FieldDef) []string {
	var out []string
	for _, fd := range fds {
		out = append(out, fd.Name)
	}
	return out
}

// cfRefused checks that err is a *ValidationError with a problem for field.
func cfRefused(t testing.TB, what string, err error, field string) {
	t.Helper()
	var ve *tenantmap.ValidationError
	if !errors.As(err, &ve) || !errors.Is(err, tenantmap.ErrInvalidRecord) {
		t.Errorf("%s: want a *ValidationError, got %v", what, err)
		return
	}
	if ve.Field(field) == "" {
		t.Errorf("%s: the ValidationError names no problem with %s: %v", what, field, err)
	}
}

func cfMustGet(t testing.TB, notes *tenantmap.Table[Note], id string, key int64) *Note {
	t.Helper()
	n, err := notes.Get(tctx(id), key)
	if err != nil {
		t.Fatalf("get %s note %d: %v", id, key, err)
	}
	return n
}

func cfBodies(ns []Note) []string {
	out := []string{}
	for _, n := range ns {
		out = append(out, n.Body)
	}
	return out
}

// cfRawCustom returns the tm_custom column of a shared table's rows of the
// tenant, as text ("NULL" for NULL), read by raw SQL.
func cfRawCustom(t testing.TB, db *tenantmap.DB, id string) []string {
	t.Helper()
	rows, err := db.Query(tctx(id), "SELECT tm_custom FROM {note} WHERE {tenant} ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			t.Fatal(err)
		}
		if raw == nil {
			out = append(out, "NULL")
		} else {
			out = append(out, string(raw))
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

type cfPayload struct {
	Tags []string `json:"tags"`
	N    int      `json:"n"`
}

// Each tenant of a model sees only its own custom fields, and filters and
// sorts on them.
func TestCustomFieldsPerTenantAndQuery(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := cfOpen(t, b, "acme", "globex", "qa")
		t.Run("per tenant", func(t *testing.T) { cfPerTenant(t, b, f) })
		// globex, which has a field of its own already, takes fields named
		// as qa's.
		t.Run("query", func(t *testing.T) { cfQuery(t, b, f, "qa", "globex") })
	})
}

// Defaults, updates, renames, drops and the versions and drift they leave.
func TestCustomFieldsChanges(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := cfOpen(t, b, "acme", "globex", "da")
		t.Run("defaults and updates", func(t *testing.T) { cfDefaultsAndUpdates(t, b, f, "da") })
		t.Run("rename and drop", func(t *testing.T) { cfRenameDrop(t, b, f) })
	})
}

// Two tenants of one model with custom fields of their own each see only
// theirs, with the right Go types; in a table of the tenant's own the
// fields are columns of that table only, in a shared table only tm_custom
// is added.
func cfPerTenant(t *testing.T, b backend, f cfFixture) {
	db := f.db
	beforeA, beforeG := cfColumns(t, db, "acme", "note"), cfColumns(t, db, "globex", "note")
	beforeItemA := cfColumns(t, db, "acme", "cf_item")
	if slices.Contains(beforeA, "tm_custom") {
		t.Fatalf("the table has tm_custom before any field was added: %v", beforeA)
	}
	acme := []tenantmap.FieldDef{
		{Name: "n_int", Type: "int64", Nullable: true},
		{Name: "n_float", Type: "float64", Nullable: true},
		{Name: "n_bool", Type: "bool", Nullable: true},
		{Name: "n_time", Type: "time", Nullable: true},
		{Name: "n_str", Type: "string", Size: 12, Nullable: true},
		{Name: "n_text", Type: "text", Nullable: true},
		{Name: "n_bytes", Type: "bytes", Nullable: true},
		{Name: "n_json", Type: "json", Nullable: true},
		{Name: "order", Type: "int32", Nullable: true}, // an SQL keyword
		{Name: "n_small", Type: "int16", Default: 7},
	}
	globex := []tenantmap.FieldDef{{Name: "region", Type: "string", Size: 8, Default: "eu"}}
	cfAdd(t, db, "acme", "note", acme...)
	cfAdd(t, db, "globex", "note", globex...)
	cfAdd(t, db, "acme", "cf_item", tenantmap.FieldDef{Name: "score", Type: "float64", Nullable: true}, tenantmap.FieldDef{Name: "flag", Type: "bool", Default: false})
	cfAdd(t, db, "globex", "cf_item", tenantmap.FieldDef{Name: "code", Type: "string", Size: 10, Nullable: true})

	if got, want := cfFieldNames(t, db, "acme", "note"), cfNamesOf(acme); !slices.Equal(got, want) {
		t.Errorf("acme's CustomFields: want %v, got %v", want, got)
	}
	if got := cfFieldNames(t, db, "globex", "note"); !slices.Equal(got, []string{"region"}) {
		t.Errorf("globex's CustomFields: want [region], got %v", got)
	}
	if got := cfFields(t, db, "acme", "note")[4]; got.Type != "string" || got.Size != 12 || !got.Nullable {
		t.Errorf("CustomFields does not keep the definition: %+v", got)
	}

	// Values round-trip with their Go types.
	when := time.Date(2026, 3, 4, 5, 6, 7, 891011000, time.UTC)
	big := int64(1)<<53 + 1 // not exact as a float64
	raw := []byte{0, 1, 2, 'x', '"', 254, 255}
	text := strings.Repeat(`it's "quoted", back\slash, ünïcode; `, 20)
	n := &Note{Body: "acme's"}
	n.Extra.Set("n_int", big)
	n.Extra.Set("n_float", 2.75)
	n.Extra.Set("n_bool", true)
	n.Extra.Set("n_time", when)
	n.Extra.Set("n_str", "héllo wörld")
	n.Extra.Set("n_text", text)
	n.Extra.Set("n_bytes", raw)
	n.Extra.Set("n_json", cfPayload{Tags: []string{"a", "b"}, N: 3})
	n.Extra.Set("order", int32(2))
	if err := f.notes.Insert(tctx("acme"), n); err != nil {
		t.Fatal(err)
	}
	bare := &Note{Body: "acme's bare"}
	if err := f.notes.Insert(tctx("acme"), bare); err != nil {
		t.Fatal(err)
	}
	byFind, err := f.notes.Find(tctx("acme"), tenantmap.Where("id = ?", n.ID))
	if err != nil || len(byFind) != 1 {
		t.Fatalf("find: %v, %d rows", err, len(byFind))
	}
	for how, got := range map[string]*Note{"get": cfMustGet(t, f.notes, "acme", n.ID), "find": &byFind[0]} {
		x := &got.Extra
		if v, ok := x.Get("n_int").(int64); !ok || v != big || x.Int64("n_int") != big {
			t.Errorf("%s n_int: want int64 %d, got %#v", how, big, x.Get("n_int"))
		}
		if v, ok := x.Get("n_float").(float64); !ok || v != 2.75 || x.Float64("n_float") != 2.75 {
			t.Errorf("%s n_float: want float64 2.75, got %#v", how, x.Get("n_float"))
		}
		if v, ok := x.Get("n_bool").(bool); !ok || !v || !x.Bool("n_bool") {
			t.Errorf("%s n_bool: want bool true, got %#v", how, x.Get("n_bool"))
		}
		if v, ok := x.Get("n_time").(time.Time); !ok || !v.Equal(when) || !x.Time("n_time").Equal(when) {
			t.Errorf("%s n_time: want time.Time %v, got %#v", how, when, x.Get("n_time"))
		}
		if v, ok := x.Get("n_str").(string); !ok || v != "héllo wörld" || x.String("n_str") != v {
			t.Errorf("%s n_str: want the string, got %#v", how, x.Get("n_str"))
		}
		if x.String("n_text") != text {
			t.Errorf("%s n_text: got %.60q…", how, x.String("n_text"))
		}
		if v, ok := x.Get("n_bytes").([]byte); !ok || !bytes.Equal(v, raw) || !bytes.Equal(x.Bytes("n_bytes"), raw) {
			t.Errorf("%s n_bytes: want []byte %v, got %#v", how, raw, x.Get("n_bytes"))
		}
		var p cfPayload
		if err := x.Decode("n_json", &p); err != nil || !reflect.DeepEqual(p, cfPayload{Tags: []string{"a", "b"}, N: 3}) {
			t.Errorf("%s n_json: decoded %+v, %v", how, p, err)
		}
		if v, ok := x.Get("order").(int64); !ok || v != 2 {
			t.Errorf("%s order: want int64 2, got %#v", how, x.Get("order"))
		}
		if v, ok := x.Get("n_small").(int64); !ok || v != 7 {
			t.Errorf("%s n_small: want its default int64 7, got %#v", how, x.Get("n_small"))
		}
		if want := slices.Sorted(slices.Values(cfNamesOf(acme))); !slices.Equal(x.Names(), want) {
			t.Errorf("%s: acme's record holds %v, want %v", how, x.Names(), want)
		}
	}
	b2 := cfMustGet(t, f.notes, "acme", bare.ID)
	for _, fd := range acme {
		if fd.Nullable && (!b2.Extra.Has(fd.Name) || !b2.Extra.IsNull(fd.Name)) {
			t.Errorf("unset nullable %s: want NULL, got %#v (set %v)", fd.Name, b2.Extra.Get(fd.Name), b2.Extra.Has(fd.Name))
		}
	}
	// Exact values filter exactly.
	for _, q := range []tenantmap.Query{
		tenantmap.Where("n_int = ?", big), tenantmap.Where("n_float > ?", 2.5), tenantmap.Where("n_text = ?", text),
		tenantmap.Where("n_str = ?", "héllo wörld"), tenantmap.Where("n_time = ?", when),
	} {
		if c, err := f.notes.Count(tctx("acme"), q); err != nil || c != 1 {
			t.Errorf("Count(%v): %d, %v; want 1", q, c, err)
		}
	}
	if c, err := f.notes.Count(tctx("acme"), tenantmap.Where("n_int = ?", big-1)); err != nil || c != 0 {
		t.Errorf("Count(n_int = 2^53): %d, %v; want 0 (2^53+1 was stored)", c, err)
	}
	t.Run("json NULL", func(t *testing.T) {
		for _, q := range []string{"n_json IS NOT NULL", "n_json IS NULL"} {
			if c, err := f.notes.Count(tctx("acme"), tenantmap.Where(q)); err != nil || c != 1 {
				t.Errorf("Count(%s): %d, %v; want 1", q, c, err)
			}
		}
	})
	b2.Extra.Set("order", 5)
	if err := f.notes.Update(tctx("acme"), b2); err != nil {
		t.Fatal(err)
	}
	if got, err := f.notes.Find(tctx("acme"), tenantmap.OrderBy("order DESC")); err != nil || !slices.Equal(cfBodies(got), []string{"acme's bare", "acme's"}) {
		t.Errorf("order by a field named order: %v, %v; want [acme's bare, acme's]", cfBodies(got), err)
	}

	// globex's record has none of acme's fields, and its own.
	g := &Note{Body: "globex's"}
	if err := f.notes.Insert(tctx("globex"), g); err != nil {
		t.Fatal(err)
	}
	gg := cfMustGet(t, f.notes, "globex", g.ID)
	if !slices.Equal(gg.Extra.Names(), []string{"region"}) || gg.Extra.String("region") != "eu" {
		t.Errorf("globex's record: want only region=eu, got %v %v", gg.Extra.Names(), gg.Extra.Get("region"))
	}
	after := cfMustGet(t, f.notes, "acme", n.ID)
	if after.Extra.Has("region") {
		t.Error("acme's record holds globex's field")
	}
	// Writing a field of another tenant's is refused, and writes nothing.
	bad := &Note{Body: "intruder"}
	bad.Extra.Set("n_int", 1)
	cfRefused(t, "globex inserting acme's field", f.notes.Insert(tctx("globex"), bad), "n_int")
	gg.Extra.Set("n_bool", true)
	cfRefused(t, "globex updating with acme's field", f.notes.Update(tctx("globex"), gg), "n_bool")
	after.Extra.Set("region", "us")
	cfRefused(t, "acme updating with globex's field", f.notes.Update(tctx("acme"), after), "region")
	if n, err := f.notes.Count(tctx("globex"), tenantmap.Query{}); err != nil || n != 1 {
		t.Errorf("globex's rows after refused writes: %d, %v; want 1", n, err)
	}
	if g := cfMustGet(t, f.notes, "globex", g.ID); g.Extra.Has("n_bool") {
		t.Error("globex's row holds acme's field after a refused update")
	}
	if _, err := f.notes.Find(tctx("globex"), tenantmap.Where("n_int > ?", 0)); err == nil {
		t.Error("globex filtered on acme's field n_int without an error")
	}
	if _, err := f.notes.Find(tctx("globex"), tenantmap.OrderBy("n_int")); !errors.Is(err, tenantmap.ErrInvalidQuery) {
		t.Errorf("globex ordering by acme's field: want ErrInvalidQuery, got %v", err)
	}

	// Type mismatches and sizes are refused by field.
	for field, v := range map[string]any{
		"n_int": "12", "n_float": "x", "n_bool": 1, "n_time": "yesterday",
		"n_str": "thirteen char", "n_bytes": "not base64!", "n_small": 40000, "n_json": make(chan int),
	} {
		w := &Note{Body: "mismatch"}
		w.Extra.Set(field, v)
		cfRefused(t, fmt.Sprintf("%s = %#v", field, v), f.notes.Insert(tctx("acme"), w), field)
	}
	if n, err := f.notes.Count(tctx("acme"), tenantmap.Query{}); err != nil || n != 2 {
		t.Errorf("acme's rows after refused writes: %d, %v; want 2", n, err)
	}

	// The run-time model: the Record holds the tenant's fields.
	it := tenantmap.NewRecord(map[string]any{"title": "acme item", "score": 0.25})
	if err := f.items.Insert(tctx("acme"), it); err != nil {
		t.Fatal(err)
	}
	gotIt, err := f.items.Get(tctx("acme"), it.Get("id"))
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := gotIt.Get("score").(float64); !ok || v != 0.25 {
		t.Errorf("cf_item score: want float64 0.25, got %#v", gotIt.Get("score"))
	}
	if v, ok := gotIt.Get("flag").(bool); !ok || v {
		t.Errorf("cf_item flag: want its default false, got %#v", gotIt.Get("flag"))
	}
	if gotIt.Has("code") {
		t.Error("acme's cf_item holds globex's field code")
	}
	gi := tenantmap.NewRecord(map[string]any{"title": "globex item", "code": "G-1"})
	if err := f.items.Insert(tctx("globex"), gi); err != nil {
		t.Fatal(err)
	}
	gotGi, err := f.items.Get(tctx("globex"), gi.Get("id"))
	if err != nil {
		t.Fatal(err)
	}
	if gotGi.String("code") != "G-1" || gotGi.Has("score") || gotGi.Has("flag") {
		t.Errorf("globex's cf_item: %v", gotGi.Names())
	}
	wrong := tenantmap.NewRecord(map[string]any{"title": "x", "score": 1.5})
	cfRefused(t, "globex inserting acme's cf_item field", f.items.Insert(tctx("globex"), wrong), "score")
	wrong = tenantmap.NewRecord(map[string]any{"title": "x", "flag": "yes"})
	cfRefused(t, "acme inserting a string into a bool", f.items.Insert(tctx("acme"), wrong), "flag")

	// The tables.
	afterA, afterG := cfColumns(t, db, "acme", "note"), cfColumns(t, db, "globex", "note")
	afterItemA := cfColumns(t, db, "acme", "cf_item")
	if isShared(b) {
		if got := cfMinus(afterA, beforeA); !slices.Equal(got, []string{"tm_custom"}) {
			t.Errorf("the shared table gained %v; want only tm_custom", got)
		}
		if got := cfMinus(afterItemA, beforeItemA); !slices.Equal(got, []string{"tm_custom"}) {
			t.Errorf("the shared cf_item table gained %v; want only tm_custom", got)
		}
		if !slices.Equal(afterA, afterG) {
			t.Errorf("one shared table, two descriptions: %v and %v", afterA, afterG)
		}
		// The JSON is keyed by field id, not by name, and globex's rows
		// hold none of acme's values.
		for _, s := range append(cfRawCustom(t, db, "acme"), cfRawCustom(t, db, "globex")...) {
			if strings.Contains(s, `"n_int"`) || strings.Contains(s, `"region"`) {
				t.Errorf("tm_custom is keyed by field name: %s", s)
			}
		}
		for _, s := range cfRawCustom(t, db, "globex") {
			if strings.Contains(s, "9007199254740993") {
				t.Errorf("globex's row holds acme's values: %s", s)
			}
		}
		return
	}
	if got := cfMinus(afterA, beforeA); !slices.Equal(got, cfNamesOf(acme)) {
		t.Errorf("acme's table gained %v; want %v", got, cfNamesOf(acme))
	}
	if got := cfMinus(afterG, beforeG); !slices.Equal(got, []string{"region"}) {
		t.Errorf("globex's table gained %v; want [region]", got)
	}
	if got := cfMinus(afterItemA, beforeItemA); !slices.Equal(got, []string{"score", "flag"}) {
		t.Errorf("acme's cf_item table gained %v; want [score flag]", got)
	}
	if slices.Contains(afterA, "tm_custom") || slices.Contains(afterG, "n_int") || slices.Contains(afterA, "region") {
		t.Errorf("columns leaked between tenants: acme %v, globex %v", afterA, afterG)
	}
	for _, c := range cfTable(t, db, "acme", "note").Columns {
		if c.Name == "n_small" && c.Nullable {
			t.Error("n_small, not nullable, is a nullable column")
		}
		if c.Name == "n_int" && !c.Nullable {
			t.Error("n_int, nullable, is a NOT NULL column")
		}
	}
}

// cfRow is one note of the query test, as Go sees it.
type cfRow struct {
	body string
	sla  int64
	tier string
	vip  bool
	due  time.Time
}

// Filters and sorts on custom fields select the right rows in the right
// order, with Count and Exists agreeing, in every placement.
func cfQuery(t *testing.T, b backend, f cfFixture, qa, qb string) {
	db := f.db
	cfAdd(t, db, qa, "note",
		tenantmap.FieldDef{Name: "sla", Type: "int64", Default: 0, Index: !isShared(b)},
		tenantmap.FieldDef{Name: "tier", Type: "string", Size: 10, Nullable: true},
		tenantmap.FieldDef{Name: "vip", Type: "bool", Default: false},
		tenantmap.FieldDef{Name: "due", Type: "time", Nullable: true},
	)
	// globex has fields of the same names and another type, whose
	// values acme's casts must never see: in a shared table they have
	// the same keys in tm_custom.
	cfAdd(t, db, qb, "note", tenantmap.FieldDef{Name: "sla", Type: "string", Size: 20, Nullable: true},
		tenantmap.FieldDef{Name: "tier", Type: "int64", Nullable: true},
		tenantmap.FieldDef{Name: "vip", Type: "string", Size: 20, Nullable: true},
		tenantmap.FieldDef{Name: "due", Type: "string", Size: 20, Nullable: true})
	for _, s := range []string{"never", "tomorrow"} {
		g := &Note{Body: "g " + s}
		g.Extra.Set("sla", s)
		g.Extra.Set("tier", 1)
		g.Extra.Set("vip", "maybe "+s)
		g.Extra.Set("due", "soon-ish "+s)
		if err := f.notes.Insert(tctx(qb), g); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	rows := []cfRow{
		{"a", 4, "gold", true, t0.Add(5 * time.Hour)},
		{"b", 48, "silver", false, t0.Add(-2 * time.Hour)},
		{"c", 12, "gold", false, t0.Add(90 * time.Minute)},
		{"d", -3, "bronze", true, t0.Add(24 * time.Hour)},
		{"e", 100, "silver", true, t0.Add(1500 * time.Millisecond)},
		{"f", 11, "gold", true, t0.Add(-48 * time.Hour)},
		{"g", 30, "bronze", false, t0.Add(36*time.Hour + 250*time.Microsecond)},
	}
	for _, r := range rows {
		n := &Note{Body: r.body}
		n.Extra.Set("sla", r.sla)
		n.Extra.Set("tier", r.tier)
		n.Extra.Set("vip", r.vip)
		n.Extra.Set("due", r.due)
		if err := f.notes.Insert(tctx(qa), n); err != nil {
			t.Fatal(err)
		}
	}
	// expect filters and sorts rows as the database should.
	expect := func(keep func(cfRow) bool, less func(a, b cfRow) bool) []string {
		var sel []cfRow
		for _, r := range rows {
			if keep(r) {
				sel = append(sel, r)
			}
		}
		sort.SliceStable(sel, func(i, j int) bool { return less(sel[i], sel[j]) })
		out := []string{}
		for _, r := range sel {
			out = append(out, r.body)
		}
		return out
	}
	cut := t0.Add(time.Hour)
	type queryCase struct {
		name    string
		q       tenantmap.Query
		want    []string
		limited bool // Count and Exists ignore its limit
	}
	check := func(t *testing.T, cases []queryCase) {
		t.Helper()
		for _, c := range cases {
			got, err := f.notes.Find(tctx(qa), c.q)
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
				continue
			}
			if !slices.Equal(cfBodies(got), c.want) {
				t.Errorf("%s: want %v, got %v", c.name, c.want, cfBodies(got))
			}
			if c.limited {
				continue
			}
			n, err := f.notes.Count(tctx(qa), c.q)
			if err != nil || n != int64(len(c.want)) {
				t.Errorf("%s: Count = %d, %v; want %d", c.name, n, err, len(c.want))
			}
			ok, err := f.notes.Exists(tctx(qa), c.q)
			if err != nil || ok != (len(c.want) > 0) {
				t.Errorf("%s: Exists = %v, %v; want %v", c.name, ok, err, len(c.want) > 0)
			}
		}
	}
	check(t, []queryCase{
		{"int filter, int sort desc", tenantmap.Where("sla > ?", 10).OrderBy("sla DESC"),
			expect(func(r cfRow) bool { return r.sla > 10 }, func(a, b cfRow) bool { return a.sla > b.sla }), false},
		{"int range, int sort", tenantmap.Where("sla BETWEEN ? AND ?", -5, 30).OrderBy("sla"),
			expect(func(r cfRow) bool { return r.sla >= -5 && r.sla <= 30 }, func(a, b cfRow) bool { return a.sla < b.sla }), false},
		{"string filter, time sort", tenantmap.Where("tier = ?", "gold").OrderBy("due"),
			expect(func(r cfRow) bool { return r.tier == "gold" }, func(a, b cfRow) bool { return a.due.Before(b.due) }), false},
		{"time filter, time sort desc", tenantmap.Where("due >= ?", cut).OrderBy("due DESC"),
			expect(func(r cfRow) bool { return !r.due.Before(cut) }, func(a, b cfRow) bool { return a.due.After(b.due) }), false},
		{"time before, to the millisecond", tenantmap.Where("due < ?", t0.Add(1500*time.Millisecond)).OrderBy("due"),
			expect(func(r cfRow) bool { return r.due.Before(t0.Add(1500 * time.Millisecond)) }, func(a, b cfRow) bool { return a.due.Before(b.due) }), false},
		{"custom and base together", tenantmap.Where("tier <> ?", "bronze").Where("body <> ?", "e").OrderBy("tier", "body DESC"),
			expect(func(r cfRow) bool { return r.tier != "bronze" && r.body != "e" }, func(a, b cfRow) bool {
				if a.tier != b.tier {
					return a.tier < b.tier
				}
				return a.body > b.body
			}), false},
		{"sort only, limit, offset", tenantmap.OrderBy("sla DESC").Limit(3).Offset(1),
			expect(func(cfRow) bool { return true }, func(a, b cfRow) bool { return a.sla > b.sla })[1:4], true},
		{"IN and OR", tenantmap.Where("sla IN (?, ?) OR tier = ?", 4, 100, "bronze").OrderBy("due DESC"),
			expect(func(r cfRow) bool { return r.sla == 4 || r.sla == 100 || r.tier == "bronze" }, func(a, b cfRow) bool { return a.due.After(b.due) }), false},
		{"no row", tenantmap.Where("tier = ?", "platinum"), []string{}, false},
		{"no row by int", tenantmap.Where("sla > ?", 1000), []string{}, false},
		{"no row by time", tenantmap.Where("due < ?", t0.Add(-100*time.Hour)), []string{}, false},
	})
	t.Run("bool", func(t *testing.T) {
		check(t, []queryCase{
			{"bool filter, string then int sort", tenantmap.Where("vip = ?", true).OrderBy("tier DESC", "sla"),
				expect(func(r cfRow) bool { return r.vip }, func(a, b cfRow) bool {
					if a.tier != b.tier {
						return a.tier > b.tier
					}
					return a.sla < b.sla
				}), false},
			{"bool false filter", tenantmap.Where("vip = ?", false).OrderBy("body"),
				expect(func(r cfRow) bool { return !r.vip }, func(a, b cfRow) bool { return a.body < b.body }), false},
			{"bool sort", tenantmap.Where("sla < ?", 40).OrderBy("vip DESC", "body"),
				expect(func(r cfRow) bool { return r.sla < 40 }, func(a, b cfRow) bool {
					if a.vip != b.vip {
						return a.vip
					}
					return a.body < b.body
				}), false},
		})
		first, err := f.notes.First(tctx(qa), tenantmap.Where("vip = ?", true).OrderBy("sla DESC"))
		if want := expect(func(r cfRow) bool { return r.vip }, func(a, b cfRow) bool { return a.sla > b.sla })[0]; err != nil || first.Body != want {
			t.Errorf("First: want %s, got %v, %v", want, first, err)
		}
	})
	// globex's fields of the same names filter with their own types,
	// on its rows only.
	gs, err := f.notes.Find(tctx(qb), tenantmap.Where("sla = ?", "never"))
	if err != nil || !slices.Equal(cfBodies(gs), []string{"g never"}) {
		t.Errorf("globex's sla filter: %v, %v", cfBodies(gs), err)
	}
	if n, err := f.notes.Count(tctx(qb), tenantmap.Where("sla LIKE ?", "%r%").Where("tier = ?", 1)); err != nil || n != 2 {
		t.Errorf("globex's sla LIKE: %d, %v; want 2", n, err)
	}

	// The run-time model sorts on a custom field too.
	cfAdd(t, db, qa, "cf_item", tenantmap.FieldDef{Name: "weight", Type: "float64", Nullable: true})
	for i, w := range []float64{2.5, -1, 9.75, 0.5} {
		r := tenantmap.NewRecord(map[string]any{"title": fmt.Sprint("w", i), "weight": w})
		if err := f.items.Insert(tctx(qa), r); err != nil {
			t.Fatal(err)
		}
	}
	items, err := f.items.Find(tctx(qa), tenantmap.Where("weight > ?", 0).OrderBy("weight DESC"))
	var titles []string
	for _, r := range items {
		titles = append(titles, r.String("title"))
	}
	if err != nil || !slices.Equal(titles, []string{"w2", "w0", "w3"}) {
		t.Errorf("cf_item by weight: %v, %v; want [w2 w0 w3]", titles, err)
	}
}

// Rows older than a field read its default, in real columns and in the
// shared JSON, and filter on it; an explicit NULL stays NULL after Update;
// UpdateColumns naming a custom field writes it.
func cfDefaultsAndUpdates(t *testing.T, b backend, f cfFixture, dt string) {
	db := f.db
	ctx := tctx(dt)
	old := &Note{Body: "old"}
	if err := f.notes.Insert(ctx, old); err != nil {
		t.Fatal(err)
	}
	it := tenantmap.NewRecord(map[string]any{"title": "old item"})
	if err := f.items.Insert(ctx, it); err != nil {
		t.Fatal(err)
	}
	cfAdd(t, db, dt, "note",
		tenantmap.FieldDef{Name: "sla", Type: "int64", Default: 24},
		tenantmap.FieldDef{Name: "tier", Type: "string", Size: 10, Default: "bronze"},
		tenantmap.FieldDef{Name: "vip", Type: "bool", Default: true},
		tenantmap.FieldDef{Name: "ratio", Type: "float64", Default: 0.5},
		tenantmap.FieldDef{Name: "label", Type: "text", Nullable: true, Default: "none"},
		tenantmap.FieldDef{Name: "due", Type: "time", Nullable: true},
	)
	cfAdd(t, db, dt, "cf_item", tenantmap.FieldDef{Name: "stock", Type: "int32", Default: 5})
	check := func(what string, n *Note) {
		t.Helper()
		x := &n.Extra
		if v, ok := x.Get("sla").(int64); !ok || v != 24 {
			t.Errorf("%s sla: want the default int64 24, got %#v", what, x.Get("sla"))
		}
		if v, ok := x.Get("tier").(string); !ok || v != "bronze" {
			t.Errorf("%s tier: want the default bronze, got %#v", what, x.Get("tier"))
		}
		if v, ok := x.Get("vip").(bool); !ok || !v {
			t.Errorf("%s vip: want the default true, got %#v", what, x.Get("vip"))
		}
		if v, ok := x.Get("ratio").(float64); !ok || v != 0.5 {
			t.Errorf("%s ratio: want the default 0.5, got %#v", what, x.Get("ratio"))
		}
		if x.String("label") != "none" {
			t.Errorf("%s label: want the default none, got %#v", what, x.Get("label"))
		}
		if !x.Has("due") || !x.IsNull("due") {
			t.Errorf("%s due: want NULL, got %#v", what, x.Get("due"))
		}
	}
	check("old row", cfMustGet(t, f.notes, dt, old.ID))
	fresh := &Note{Body: "fresh"} // no custom field set: the insert gives the defaults
	if err := f.notes.Insert(ctx, fresh); err != nil {
		t.Fatal(err)
	}
	check("fresh row", cfMustGet(t, f.notes, dt, fresh.ID))
	// A record read back and inserted again with its fields unset gets
	// the defaults too.
	re := cfMustGet(t, f.notes, dt, old.ID)
	re.ID = 0
	for _, name := range re.Extra.Names() {
		re.Extra.Unset(name)
	}
	if len(re.Extra.Names()) != 0 {
		t.Errorf("Unset left %v", re.Extra.Names())
	}
	if err := f.notes.Insert(ctx, re); err != nil {
		t.Fatal(err)
	}
	check("reinserted row", cfMustGet(t, f.notes, dt, re.ID))
	if err := f.notes.Delete(ctx, re.ID); err != nil {
		t.Fatal(err)
	}
	gotIt, err := f.items.Get(ctx, it.Get("id"))
	if err != nil || gotIt.Get("stock") != int64(5) {
		t.Errorf("old cf_item stock: want the default int64 5, got %#v, %v", gotIt.Get("stock"), err)
	}
	// Queries see the old row's defaults too.
	other := &Note{Body: "other"}
	other.Extra.Set("sla", 1)
	other.Extra.Set("tier", "gold")
	other.Extra.Set("vip", false)
	if err := f.notes.Insert(ctx, other); err != nil {
		t.Fatal(err)
	}
	type defCase struct {
		q    tenantmap.Query
		want []string
	}
	checkQueries := func(t *testing.T, cases []defCase) {
		t.Helper()
		for _, c := range cases {
			got, err := f.notes.Find(ctx, c.q)
			if err != nil || !slices.Equal(cfBodies(got), c.want) {
				t.Errorf("%+v: want %v, got %v, %v", c.q, c.want, cfBodies(got), err)
			}
			if n, err := f.notes.Count(ctx, c.q); err != nil || n != int64(len(c.want)) {
				t.Errorf("Count %+v: %d, %v; want %d", c.q, n, err, len(c.want))
			}
		}
	}
	checkQueries(t, []defCase{
		{tenantmap.Where("sla = ?", 24).OrderBy("body"), []string{"fresh", "old"}},
		{tenantmap.Where("tier = ?", "bronze").OrderBy("body"), []string{"fresh", "old"}},
		{tenantmap.Where("ratio > ?", 0.25).OrderBy("body"), []string{"fresh", "old", "other"}},
		{tenantmap.Where("label = ?", "none").OrderBy("body"), []string{"fresh", "old", "other"}},
		{tenantmap.Where("due IS NULL").OrderBy("sla", "body"), []string{"other", "fresh", "old"}},
		{tenantmap.OrderBy("tier DESC", "body"), []string{"other", "fresh", "old"}},
	})
	t.Run("bool", func(t *testing.T) {
		checkQueries(t, []defCase{{tenantmap.Where("vip = ?", true).OrderBy("body"), []string{"fresh", "old"}}})
	})
	if n, err := f.items.Count(ctx, tenantmap.Where("stock = ?", 5)); err != nil || n != 1 {
		t.Errorf("cf_item Count(stock = 5): %d, %v; want 1", n, err)
	}

	// An explicit NULL on a nullable field with a default stays NULL.
	for _, key := range []int64{old.ID, fresh.ID} {
		n := cfMustGet(t, f.notes, dt, key)
		n.Extra.SetNull("label")
		if err := f.notes.Update(ctx, n); err != nil {
			t.Fatal(err)
		}
		again := cfMustGet(t, f.notes, dt, key)
		if !again.Extra.Has("label") || !again.Extra.IsNull("label") {
			t.Errorf("note %d label after Update with NULL: want NULL, got %#v", key, again.Extra.Get("label"))
		}
		if again.Extra.Int64("sla") != 24 {
			t.Errorf("note %d: sla changed by the update: %#v", key, again.Extra.Get("sla"))
		}
	}
	if n, err := f.notes.Count(ctx, tenantmap.Where("label IS NULL")); err != nil || n != 2 {
		t.Errorf("Count(label IS NULL): %d, %v; want 2", n, err)
	}
	// A field that is not nullable cannot be set to NULL.
	n := cfMustGet(t, f.notes, dt, old.ID)
	n.Extra.SetNull("sla")
	cfRefused(t, "NULL in a field that is not nullable", f.notes.Update(ctx, n), "sla")

	// UpdateColumns naming a custom field writes it, and not the others.
	when := time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC)
	u := &Note{Body: "before"}
	u.Extra.Set("sla", 1)
	u.Extra.Set("due", when)
	if err := f.notes.Insert(ctx, u); err != nil {
		t.Fatal(err)
	}
	u.Body = "not written"
	u.Extra.Set("sla", 2)
	if err := f.notes.UpdateColumns(ctx, u, "sla"); err != nil {
		t.Fatal(err)
	}
	got := cfMustGet(t, f.notes, dt, u.ID)
	if got.Extra.Get("sla") != int64(2) || got.Body != "before" || !got.Extra.Time("due").Equal(when) {
		t.Errorf("UpdateColumns(sla): body %q sla %#v due %#v; want before, 2, %v", got.Body, got.Extra.Get("sla"), got.Extra.Get("due"), when)
	}
	got.Body = "after"
	got.Extra.Set("sla", 3)
	got.Extra.SetNull("due")
	if err := f.notes.UpdateColumns(ctx, got, "body", "sla", "due"); err != nil {
		t.Fatal(err)
	}
	again := cfMustGet(t, f.notes, dt, u.ID)
	if again.Body != "after" || again.Extra.Get("sla") != int64(3) || !again.Extra.IsNull("due") {
		t.Errorf("UpdateColumns(body, sla, due): %q %#v %#v", again.Body, again.Extra.Get("sla"), again.Extra.Get("due"))
	}
	again.Extra.Set("sla", "many")
	cfRefused(t, "UpdateColumns with a string in an int field", f.notes.UpdateColumns(ctx, again, "sla"), "sla")
	for _, col := range []string{"nope", "tm_custom", "tenant_id"} {
		if err := f.notes.UpdateColumns(ctx, again, col); !errors.Is(err, tenantmap.ErrInvalidQuery) {
			t.Errorf("UpdateColumns(%s): want ErrInvalidQuery, got %v", col, err)
		}
	}
	if c := cfMustGet(t, f.notes, dt, u.ID); c.Extra.Get("sla") != int64(3) {
		t.Errorf("refused UpdateColumns wrote sla: %#v", c.Extra.Get("sla"))
	}
	gotIt.Set("stock", 9)
	gotIt.Set("title", "not written")
	if err := f.items.UpdateColumns(ctx, gotIt, "stock"); err != nil {
		t.Fatal(err)
	}
	if gi, err := f.items.Get(ctx, it.Get("id")); err != nil || gi.Get("stock") != int64(9) || gi.String("title") != "old item" {
		t.Errorf("cf_item UpdateColumns(stock): %#v %#v %v", gi.Get("title"), gi.Get("stock"), err)
	}

	t.Run("UpdateColumns leaves unnamed custom fields", func(t *testing.T) {
		n := cfMustGet(t, f.notes, dt, fresh.ID)
		n.Extra.Set("sla", 2)
		n.Extra.Set("tier", "silver") // not named: not written
		if err := f.notes.UpdateColumns(ctx, n, "sla"); err != nil {
			t.Fatal(err)
		}
		got := cfMustGet(t, f.notes, dt, fresh.ID)
		if got.Extra.Get("sla") != int64(2) || got.Extra.String("tier") != "bronze" {
			t.Errorf("UpdateColumns(sla): sla %#v tier %#v; want 2 and bronze (tier was not named)", got.Extra.Get("sla"), got.Extra.Get("tier"))
		}
		// A value the field cannot hold, in a field not named, is not
		// written either: the row stays readable.
		n.Extra.Set("tier", 12345)
		n.Extra.Set("sla", 3)
		if err := f.notes.UpdateColumns(ctx, n, "sla"); err != nil {
			t.Logf("UpdateColumns(sla) with a bad tier: %v", err)
		}
		got, err := f.notes.Get(ctx, fresh.ID)
		if err != nil {
			t.Fatalf("the row is unreadable after UpdateColumns(sla) with an unvalidated tier: %v", err)
		}
		if got.Extra.String("tier") != "bronze" {
			t.Errorf("tier: want bronze, got %#v", got.Extra.Get("tier"))
		}
	})

	t.Run("default now", func(t *testing.T) {
		// A now default would mean one time for the rows already there and
		// another for each insert, and SQLite cannot add such a column:
		// refused, or (were it ever allowed) it must work everywhere.
		start := time.Now().Add(-time.Minute)
		err := db.Tenants().AddField(cfBG, dt, "note", tenantmap.FieldDef{Name: "seen", Type: "time", Default: "now"})
		if err != nil {
			if !errors.Is(err, tenantmap.ErrInvalidField) {
				t.Fatalf("AddField(default now): want success or ErrInvalidField, got %v", err)
			}
			if slices.Contains(cfFieldNames(t, db, dt, "note"), "seen") || slices.Contains(cfColumns(t, db, dt, "note"), "seen") {
				t.Fatal("a refused AddField left the field")
			}
			return
		}
		o := cfMustGet(t, f.notes, dt, old.ID)
		if seen := o.Extra.Time("seen"); o.Extra.IsNull("seen") || seen.Before(start) {
			t.Errorf("an old row's seen: want about now, got %#v", o.Extra.Get("seen"))
		}
		if c, err := f.notes.Count(ctx, tenantmap.Where("seen IS NULL")); err != nil || c != 0 {
			t.Errorf("Count(seen IS NULL): %d, %v; want 0", c, err)
		}
		o.Body = "old, updated"
		if err := f.notes.Update(ctx, o); err != nil {
			t.Errorf("updating an old row: %v", err)
		}
	})
}

// RenameField keeps the values under the new name and refuses the old one;
// DropField removes the values; a field dropped and added again starts
// from its default; indexed fields can be renamed and dropped. Every change
// bumps the tenant's version and no other's, and Drift finds nothing amiss
// afterwards.
func cfRenameDrop(t *testing.T, b backend, f cfFixture) {
	db := f.db
	ctx := tctx("acme")
	ts := db.Tenants()
	shared := isShared(b)
	// change runs one change of acme's fields and checks the versions.
	change := func(what string, do func() error) {
		t.Helper()
		va, vg, vd := cfVersion(t, db, "acme"), cfVersion(t, db, "globex"), cfVersion(t, db, "da")
		if err := do(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if v := cfVersion(t, db, "acme"); v <= va {
			t.Errorf("%s: acme's version %d, was %d; want it bumped", what, v, va)
		}
		if v, w := cfVersion(t, db, "globex"), cfVersion(t, db, "da"); v != vg || w != vd {
			t.Errorf("%s: other tenants' versions %d and %d, were %d and %d", what, v, w, vg, vd)
		}
	}
	add := func(model string, fd tenantmap.FieldDef) {
		t.Helper()
		change("add "+fd.Name, func() error { return ts.AddField(cfBG, "acme", model, fd) })
	}
	add("note", tenantmap.FieldDef{Name: "sla", Type: "int64", Nullable: true, Index: !shared})
	add("note", tenantmap.FieldDef{Name: "code", Type: "string", Size: 20, Nullable: true, Unique: !shared})
	add("note", tenantmap.FieldDef{Name: "tier", Type: "string", Size: 10, Nullable: true})
	add("cf_item", tenantmap.FieldDef{Name: "weight", Type: "float64", Nullable: true, Index: !shared})
	cfAdd(t, db, "globex", "note", tenantmap.FieldDef{Name: "sla", Type: "int64", Nullable: true})
	var keys []int64
	for i, sla := range []int64{5, 50, 500} {
		n := &Note{Body: fmt.Sprint("n", i)}
		n.Extra.Set("sla", sla)
		n.Extra.Set("code", fmt.Sprint("C-", i))
		n.Extra.Set("tier", "gold")
		if err := f.notes.Insert(ctx, n); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, n.ID)
	}
	gn := &Note{Body: "globex"}
	gn.Extra.Set("sla", 7)
	if err := f.notes.Insert(tctx("globex"), gn); err != nil {
		t.Fatal(err)
	}
	if !shared {
		if len(cfIndexOn(t, db, "acme", "note", "sla")) != 1 || len(cfIndexOn(t, db, "acme", "note", "code")) != 1 {
			t.Fatalf("no index on the indexed fields: %+v", cfTable(t, db, "acme", "note").Indexes)
		}
		for _, ix := range append(cfIndexOn(t, db, "acme", "note", "sla"), cfIndexOn(t, db, "acme", "note", "code")...) {
			if !strings.Contains(ix.Name, "x_") {
				t.Errorf("a custom field's index %s is not named with x_", ix.Name)
			}
		}
		if ix := cfIndexOn(t, db, "acme", "note", "code"); len(ix) == 1 && !ix[0].Unique {
			t.Errorf("code's index is not unique: %+v", ix[0])
		}
		if len(cfIndexOn(t, db, "globex", "note", "sla")) != 0 {
			t.Error("acme's index was made on globex's table")
		}
		dup := &Note{Body: "dup"}
		dup.Extra.Set("code", "C-1")
		if err := f.notes.Insert(ctx, dup); err == nil {
			t.Error("a duplicate of a unique custom field was inserted")
		}
	}

	// Rename.
	change("rename sla", func() error { return ts.RenameField(cfBG, "acme", "note", "sla", "deadline") })
	change("rename code", func() error { return ts.RenameField(cfBG, "acme", "note", "code", "ref") })
	change("rename weight", func() error { return ts.RenameField(cfBG, "acme", "cf_item", "weight", "mass") })
	if got := cfFieldNames(t, db, "acme", "note"); !slices.Equal(got, []string{"deadline", "ref", "tier"}) {
		t.Errorf("CustomFields after rename: %v", got)
	}
	if fd := cfFields(t, db, "acme", "note")[0]; fd.Type != "int64" || fd.Index != !shared {
		t.Errorf("rename lost the definition: %+v", fd)
	}
	for i, key := range keys {
		n := cfMustGet(t, f.notes, "acme", key)
		if n.Extra.Has("sla") || n.Extra.Has("code") {
			t.Errorf("the old names are still read: %v", n.Extra.Names())
		}
		if want := []int64{5, 50, 500}[i]; n.Extra.Get("deadline") != want || n.Extra.String("ref") != fmt.Sprint("C-", i) {
			t.Errorf("note %d after rename: deadline %#v ref %#v; want %d, C-%d", key, n.Extra.Get("deadline"), n.Extra.Get("ref"), want, i)
		}
	}
	if got, err := f.notes.Find(ctx, tenantmap.Where("deadline > ?", 10).OrderBy("deadline DESC")); err != nil || !slices.Equal(cfBodies(got), []string{"n2", "n1"}) {
		t.Errorf("filter on the new name: %v, %v", cfBodies(got), err)
	}
	if _, err := f.notes.Find(ctx, tenantmap.OrderBy("sla")); !errors.Is(err, tenantmap.ErrInvalidQuery) {
		t.Errorf("order by the old name: want ErrInvalidQuery, got %v", err)
	}
	if _, err := f.notes.Find(ctx, tenantmap.Where("sla > ?", 1)); err == nil {
		t.Error("a filter on the old name ran")
	}
	w := &Note{Body: "old name"}
	w.Extra.Set("sla", 1)
	cfRefused(t, "insert under the old name", f.notes.Insert(ctx, w), "sla")
	u := cfMustGet(t, f.notes, "acme", keys[0])
	u.Extra.Set("code", "C-9")
	cfRefused(t, "update under the old name", f.notes.Update(ctx, u), "code")
	if err := f.notes.UpdateColumns(ctx, u, "code"); !errors.Is(err, tenantmap.ErrInvalidQuery) {
		t.Errorf("UpdateColumns under the old name: want ErrInvalidQuery, got %v", err)
	}
	if g := cfMustGet(t, f.notes, "globex", gn.ID); g.Extra.Get("sla") != int64(7) || g.Extra.Has("deadline") {
		t.Errorf("acme's rename reached globex: %v %#v", g.Extra.Names(), g.Extra.Get("sla"))
	}
	if !shared {
		cols := cfColumns(t, db, "acme", "note")
		if !slices.Contains(cols, "deadline") || !slices.Contains(cols, "ref") || slices.Contains(cols, "sla") || slices.Contains(cols, "code") {
			t.Errorf("acme's columns after rename: %v", cols)
		}
		if len(cfIndexOn(t, db, "acme", "note", "deadline")) != 1 || len(cfIndexOn(t, db, "acme", "note", "ref")) != 1 || len(cfIndexOn(t, db, "acme", "cf_item", "mass")) != 1 {
			t.Errorf("the renamed fields lost their indexes: %+v", cfTable(t, db, "acme", "note").Indexes)
		}
		if ix := cfIndexOn(t, db, "acme", "note", "ref"); len(ix) == 1 && !ix[0].Unique {
			t.Errorf("ref's index is no longer unique")
		}
		if !slices.Contains(cfColumns(t, db, "globex", "note"), "sla") {
			t.Error("acme's rename renamed globex's column")
		}
	}

	// Drop.
	change("drop deadline", func() error { return ts.DropField(cfBG, "acme", "note", "deadline") })
	change("drop ref", func() error { return ts.DropField(cfBG, "acme", "note", "ref") })
	if got := cfFieldNames(t, db, "acme", "note"); !slices.Equal(got, []string{"tier"}) {
		t.Errorf("CustomFields after drop: %v", got)
	}
	n := cfMustGet(t, f.notes, "acme", keys[1])
	if n.Extra.Has("deadline") || n.Extra.Has("ref") || n.Extra.String("tier") != "gold" {
		t.Errorf("after drop: %v (tier %#v)", n.Extra.Names(), n.Extra.Get("tier"))
	}
	n.Extra.Set("deadline", 3)
	cfRefused(t, "update of a dropped field", f.notes.Update(ctx, n), "deadline")
	if !shared {
		cols := cfColumns(t, db, "acme", "note")
		if slices.Contains(cols, "deadline") || slices.Contains(cols, "ref") {
			t.Errorf("dropped columns are still there: %v", cols)
		}
		for _, ix := range cfTable(t, db, "acme", "note").Indexes {
			if strings.Contains(ix.Name, "x_") {
				t.Errorf("a dropped field's index is left: %+v", ix)
			}
		}
	}

	// Added again: the old values are gone.
	add("note", tenantmap.FieldDef{Name: "deadline", Type: "int64", Default: 9})
	add("note", tenantmap.FieldDef{Name: "ref", Type: "string", Size: 20, Nullable: true, Index: !shared})
	for _, key := range keys {
		n := cfMustGet(t, f.notes, "acme", key)
		if n.Extra.Get("deadline") != int64(9) {
			t.Errorf("note %d deadline, dropped and added again: want the default 9, got %#v", key, n.Extra.Get("deadline"))
		}
		if !n.Extra.Has("ref") || !n.Extra.IsNull("ref") {
			t.Errorf("note %d ref, dropped and added again: want NULL, got %#v", key, n.Extra.Get("ref"))
		}
	}
	if c, err := f.notes.Count(ctx, tenantmap.Where("deadline = ?", 9)); err != nil || c != int64(len(keys)) {
		t.Errorf("Count(deadline = 9): %d, %v; want %d", c, err, len(keys))
	}
	if c, err := f.notes.Count(ctx, tenantmap.Where("ref IS NOT NULL")); err != nil || c != 0 {
		t.Errorf("Count(ref IS NOT NULL): %d, %v; want 0", c, err)
	}
	// The old values do not come back through a write either.
	n = cfMustGet(t, f.notes, "acme", keys[2])
	n.Body = "rewritten"
	if err := f.notes.Update(ctx, n); err != nil {
		t.Fatal(err)
	}
	if n = cfMustGet(t, f.notes, "acme", keys[2]); n.Extra.Get("deadline") != int64(9) || !n.Extra.IsNull("ref") {
		t.Errorf("after update: deadline %#v ref %#v", n.Extra.Get("deadline"), n.Extra.Get("ref"))
	}

	// Drift: acme has renamed, dropped and indexed fields, globex a field
	// of note and none of cf_item (whose table, if shared, has tm_custom
	// for acme's), da the fields of the defaults test.
	cfAdd(t, db, "acme", "note",
		tenantmap.FieldDef{Name: "due", Type: "time", Nullable: true},
		tenantmap.FieldDef{Name: "meta", Type: "json", Nullable: true},
		tenantmap.FieldDef{Name: "ok", Type: "bool", Default: true},
		tenantmap.FieldDef{Name: "ratio", Type: "float32", Nullable: true},
		tenantmap.FieldDef{Name: "blob", Type: "bytes", Nullable: true},
		tenantmap.FieldDef{Name: "uid", Type: "uuid", Nullable: true},
		tenantmap.FieldDef{Name: "small", Type: "int16", Default: 1},
		tenantmap.FieldDef{Name: "mid", Type: "int32", Nullable: true, Unique: !shared},
	)
	for _, ids := range [][]string{{"globex"}, {"acme"}, {"da"}, nil} {
		drift, err := db.Drift(cfBG, tenantmap.DriftOptions{Tenants: ids})
		if err != nil {
			t.Fatal(err)
		}
		if all, _, err := db.Tenants().List(cfBG, tenantmap.ListOptions{Status: tenantmap.StatusActive}); ids == nil && (err != nil || len(drift) != len(all)) {
			t.Errorf("Drift checked %d tenants; want %d (%v)", len(drift), len(all), err)
		}
		for _, d := range drift {
			if d.Err != nil {
				t.Errorf("drift of %s (checked with %v): %v", d.Tenant, ids, d.Err)
			}
			for _, diff := range d.Differences {
				t.Errorf("drift of %s (checked with %v): %s", d.Tenant, ids, diff)
			}
		}
	}
}

// cfState is what a bad call must leave as it was.
type cfState struct {
	Fields   map[string][]tenantmap.FieldDef
	Tables   map[string]string
	Versions map[string]int64
}

func cfSnapshot(t *testing.T, db *tenantmap.DB, tenants ...string) cfState {
	t.Helper()
	s := cfState{Fields: map[string][]tenantmap.FieldDef{}, Tables: map[string]string{}, Versions: map[string]int64{}}
	for _, id := range tenants {
		s.Versions[id] = cfVersion(t, db, id)
		for _, model := range []string{"note", "cf_item"} {
			s.Fields[id+"/"+model] = cfFields(t, db, id, model)
			info := cfTable(t, db, id, model)
			s.Tables[id+"/"+model] = fmt.Sprintf("%+v %+v", info.Columns, info.Indexes)
		}
	}
	return s
}

// Bad calls are refused with the right error and change nothing: the
// custom fields, the tables and the versions are as they were.
func TestCustomFieldsBadInput(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := cfOpen(t, b, "acme", "globex")
		db := f.db
		ts := db.Tenants()
		shared := isShared(b)
		add := func(id, model string, fd tenantmap.FieldDef) func() error {
			return func() error { return ts.AddField(cfBG, id, model, fd) }
		}
		rename := func(id, model, from, to string) func() error {
			return func() error { return ts.RenameField(cfBG, id, model, from, to) }
		}
		drop := func(id, model, name string) func() error {
			return func() error { return ts.DropField(cfBG, id, model, name) }
		}
		ok := func(name, typ string) tenantmap.FieldDef {
			return tenantmap.FieldDef{Name: name, Type: typ, Nullable: true}
		}
		// When a case runs: before acme has any field, once it has sla and
		// tier (of note, and sla of cf_item), or both.
		const before, with, both = 1, 2, 3
		type badCase struct {
			name string
			do   func() error
			want error
			when int
		}
		invalid, badID, notFound := tenantmap.ErrInvalidField, tenantmap.ErrInvalidTenantID, tenantmap.ErrTenantNotFound
		cases := []badCase{
			{"empty name", add("acme", "note", ok("", "int64")), invalid, before},
			{"upper case", add("acme", "note", ok("Sla", "int64")), invalid, before},
			{"leading digit", add("acme", "note", ok("1sla", "int64")), invalid, before},
			{"dash", add("acme", "note", ok("s-la", "int64")), invalid, before},
			{"space", add("acme", "note", ok("s la", "int64")), invalid, before},
			{"injection", add("acme", "note", ok("sla int); DROP TABLE x; --", "int64")), invalid, both},
			{"quote", add("acme", "note", ok(`sla"`, "int64")), invalid, before},
			{"non-ASCII", add("acme", "note", ok("slä", "int64")), invalid, before},
			{"64 bytes", add("acme", "note", ok("a"+strings.Repeat("b", 63), "int64")), invalid, before},
			{"reserved tenant_id", add("acme", "note", ok("tenant_id", "string")), invalid, both},
			{"reserved tm_custom", add("acme", "note", ok("tm_custom", "json")), invalid, both},
			{"reserved tenantmap_", add("acme", "note", ok("tenantmap_x", "int64")), invalid, before},
			{"base field body", add("acme", "note", ok("body", "text")), invalid, both},
			{"base key id", add("acme", "note", ok("id", "int64")), invalid, before},
			{"run-time base field", add("acme", "cf_item", ok("title", "string")), invalid, before},
			{"index name of the base model's", add("acme", "cf_item", ok("legacy", "int64")), invalid, before},
			{"unknown type", add("acme", "note", ok("sla2", "decimal")), invalid, both},
			{"no type", add("acme", "note", ok("sla2", "")), invalid, before},
			{"size on an int", add("acme", "note", tenantmap.FieldDef{Name: "sla2", Type: "int64", Size: 4, Nullable: true}), invalid, before},
			{"size too big", add("acme", "note", tenantmap.FieldDef{Name: "sla2", Type: "string", Size: 70000, Nullable: true}), invalid, before},
			{"negative size", add("acme", "note", tenantmap.FieldDef{Name: "sla2", Type: "string", Size: -1, Nullable: true}), invalid, before},
			{"bad default", add("acme", "note", tenantmap.FieldDef{Name: "sla2", Type: "int64", Default: "soon"}), invalid, both},
			{"bool default", add("acme", "note", tenantmap.FieldDef{Name: "sla2", Type: "bool", Default: "perhaps"}), invalid, before},
			{"default longer than size", add("acme", "note", tenantmap.FieldDef{Name: "sla2", Type: "string", Size: 2, Default: "long"}), invalid, before},
			{"default of a bad kind", add("acme", "note", tenantmap.FieldDef{Name: "sla2", Type: "int64", Default: []int{1}}), invalid, before},
			{"not nullable, no default", add("acme", "note", tenantmap.FieldDef{Name: "sla2", Type: "int64"}), invalid, both},
			{"key", add("acme", "note", tenantmap.FieldDef{Name: "sla2", Type: "int64", Nullable: true, Key: true}), invalid, both},
			{"key with a default", add("acme", "note", tenantmap.FieldDef{Name: "sla2", Type: "string", Default: "x", Key: true}), invalid, before},
			{"unknown model", add("acme", "nope", ok("sla2", "int64")), invalid, before},
			{"struct without Extra", add("acme", "cf_plain", ok("sla2", "int64")), invalid, before},
			{"invalid tenant id", add("Bad ID", "note", ok("sla2", "int64")), badID, before},
			{"empty tenant id", add("", "note", ok("sla2", "int64")), badID, before},
			{"unknown tenant", add("nobody", "note", ok("sla2", "int64")), notFound, before},
			{"rename unknown field", rename("acme", "note", "nope", "other"), invalid, both},
			{"rename a base field", rename("acme", "note", "body", "text"), invalid, before},
			{"rename, unknown tenant", rename("nobody", "note", "sla", "x"), notFound, before},
			{"rename, invalid tenant id", rename("-x", "note", "sla", "x"), badID, before},
			{"rename, unknown model", rename("acme", "nope", "sla", "x"), invalid, before},
			{"drop unknown field", drop("acme", "note", "nope"), invalid, both},
			{"drop a base field", drop("acme", "note", "body"), invalid, before},
			{"drop, unknown tenant", drop("nobody", "note", "sla"), notFound, before},
			{"drop, invalid tenant id", drop("UPPER", "note", "sla"), badID, before},
			{"drop, struct without Extra", drop("acme", "cf_plain", "sla"), invalid, before},

			{"duplicate", add("acme", "note", ok("sla", "int64")), invalid, with},
			{"duplicate of another type", add("acme", "note", ok("tier", "int64")), invalid, with},
			{"rename to an existing field", rename("acme", "note", "sla", "tier"), invalid, with},
			{"rename to itself", rename("acme", "note", "sla", "sla"), invalid, with},
			{"rename to a base field", rename("acme", "note", "sla", "body"), invalid, with},
			{"rename to tenant_id", rename("acme", "note", "sla", "tenant_id"), invalid, with},
			{"rename to tm_custom", rename("acme", "note", "sla", "tm_custom"), invalid, with},
			{"rename to tenantmap_", rename("acme", "note", "sla", "tenantmap_a"), invalid, with},
			{"rename to a bad name", rename("acme", "note", "sla", "Bad Name"), invalid, with},
			{"rename to an empty name", rename("acme", "note", "sla", ""), invalid, with},
			{"rename to the base model's index name", rename("acme", "cf_item", "sla", "legacy"), invalid, with},
			{"rename another tenant's field", rename("globex", "note", "sla", "x"), invalid, with},
			{"drop another tenant's field", drop("globex", "note", "tier"), invalid, with},
			{"drop from another model", drop("acme", "cf_item", "tier"), invalid, with},
		}
		if shared {
			cases = append(cases,
				badCase{"index in a shared table", add("acme", "note", tenantmap.FieldDef{Name: "sla2", Type: "int64", Nullable: true, Index: true}), invalid, both},
				badCase{"unique in a shared table", add("acme", "note", tenantmap.FieldDef{Name: "sla2", Type: "int64", Nullable: true, Unique: true}), invalid, both},
			)
		}
		plainCols := cfColumns(t, db, "acme", "cf_plain")
		// quick is what a case is checked by: the versions, acme's fields
		// and its note table; the phase ends with a full snapshot.
		quick := func() string {
			info := cfTable(t, db, "acme", "note")
			return fmt.Sprintf("versions %d %d, fields %+v %+v, table %+v %+v", cfVersion(t, db, "acme"), cfVersion(t, db, "globex"),
				cfFields(t, db, "acme", "note"), cfFields(t, db, "acme", "cf_item"), info.Columns, info.Indexes)
		}
		run := func(phase int) {
			full, want := cfSnapshot(t, db, "acme", "globex"), quick()
			for _, c := range cases {
				if c.when&phase == 0 {
					continue
				}
				err := c.do()
				if !errors.Is(err, c.want) {
					t.Errorf("%s: want %v, got %v", c.name, c.want, err)
				}
				var te *tenantmap.Error
				if err != nil && (!errors.As(err, &te) || te.Op == "") {
					t.Errorf("%s: not a *tenantmap.Error naming the operation: %#v", c.name, err)
				}
				if got := quick(); got != want {
					t.Errorf("%s changed something:\nbefore %s\nafter  %s", c.name, want, got)
					want = got
				}
			}
			if got := cfSnapshot(t, db, "acme", "globex"); !reflect.DeepEqual(full, got) {
				t.Errorf("the refused changes changed something:\nbefore %+v\nafter  %+v", full, got)
			}
		}
		// First with no custom field anywhere: a shared table must not
		// gain tm_custom from a refused change.
		run(before)
		if cols := cfColumns(t, db, "acme", "note"); slices.Contains(cols, "tm_custom") {
			t.Errorf("refused changes added tm_custom: %v", cols)
		}
		cfAdd(t, db, "acme", "note", ok("sla", "int64"), ok("tier", "string"))
		cfAdd(t, db, "acme", "cf_item", ok("sla", "int64"))
		run(with)
		if got := cfColumns(t, db, "acme", "cf_plain"); !slices.Equal(got, plainCols) {
			t.Errorf("cf_plain's columns changed: %v, were %v", got, plainCols)
		}

		// A dropped tenant (kept for Restore) takes no change.
		if err := ts.Drop(cfBG, "globex", tenantmap.ConfirmDrop("globex"), tenantmap.Retain(time.Hour)); err != nil {
			t.Fatal(err)
		}
		acmeBefore := cfSnapshot(t, db, "acme")
		for name, do := range map[string]func() error{
			"add":    add("globex", "note", ok("sla2", "int64")),
			"rename": rename("globex", "note", "sla", "x"),
			"drop":   drop("globex", "note", "sla"),
		} {
			if err := do(); !errors.Is(err, notFound) {
				t.Errorf("%s, dropped tenant: want %v, got %v", name, notFound, err)
			}
		}
		if err := ts.Restore(cfBG, "globex"); err != nil {
			t.Fatal(err)
		}
		if got := cfFieldNames(t, db, "globex", "note"); len(got) != 0 {
			t.Errorf("a change refused while globex was dropped is there after Restore: %v", got)
		}
		if got := cfSnapshot(t, db, "acme"); !reflect.DeepEqual(acmeBefore, got) {
			t.Error("changes refused for a dropped tenant changed acme")
		}

		// CustomFields refuses what AddField refuses.
		for _, c := range []struct {
			id, model string
			want      error
		}{{"Bad", "note", badID}, {"nobody", "note", notFound}, {"acme", "nope", invalid}} {
			if _, err := ts.CustomFields(cfBG, c.id, c.model); !errors.Is(err, c.want) {
				t.Errorf("CustomFields(%q, %q): want %v, got %v", c.id, c.model, c.want, err)
			}
		}
	})
}

// A tenant's model takes at most 100 custom fields. A hundred ALTER TABLEs
// are slow on servers, and the limit is the same code everywhere: this
// runs on SQLite's tables of the tenant's own and shared table.
func TestCustomFieldsLimit(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		if b.name != "sqlite/table" && b.name != "sqlite/shared" {
			t.Skip("100 ALTER TABLEs: run on sqlite/table and sqlite/shared only")
		}
		f := cfOpen(t, b, "acme")
		db := f.db
		for i := range 100 {
			cfAdd(t, db, "acme", "note", tenantmap.FieldDef{Name: fmt.Sprintf("f%03d", i), Type: "int32", Nullable: true})
		}
		before := cfSnapshot(t, db, "acme")
		err := db.Tenants().AddField(cfBG, "acme", "note", tenantmap.FieldDef{Name: "one_more", Type: "int32", Nullable: true})
		if !errors.Is(err, tenantmap.ErrInvalidField) {
			t.Errorf("the 101st field: want ErrInvalidField, got %v", err)
		}
		if after := cfSnapshot(t, db, "acme"); !reflect.DeepEqual(before, after) {
			t.Error("the refused 101st field changed something")
		}
		// Another model of the tenant has a limit of its own.
		cfAdd(t, db, "acme", "cf_item", tenantmap.FieldDef{Name: "one_more", Type: "int32", Nullable: true})
		// Dropping one makes room again, and a record holds all 100.
		if err := db.Tenants().DropField(cfBG, "acme", "note", "f000"); err != nil {
			t.Fatal(err)
		}
		cfAdd(t, db, "acme", "note", tenantmap.FieldDef{Name: "one_more", Type: "int32", Nullable: true})
		n := &Note{Body: "wide"}
		for _, name := range cfFieldNames(t, db, "acme", "note") {
			n.Extra.Set(name, len(name))
		}
		if err := f.notes.Insert(tctx("acme"), n); err != nil {
			t.Fatal(err)
		}
		got := cfMustGet(t, f.notes, "acme", n.ID)
		if len(got.Extra.Names()) != 100 || got.Extra.Int64("one_more") != 8 || got.Extra.Int64("f099") != 4 {
			t.Errorf("wide record: %d fields, one_more %#v", len(got.Extra.Names()), got.Extra.Get("one_more"))
		}
	})
}

// Concurrent AddFields of different fields on one tenant all succeed (the
// tenant's lock serialises them) and every field exists afterwards; in a
// shared table, so do the first fields of several tenants at once.
func TestCustomFieldsConcurrent(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		tenants := []string{"acme"}
		if isShared(b) {
			tenants = append(tenants, "t1", "t2", "t3")
		}
		f := cfOpen(t, b, tenants...)
		db := f.db
		if cfg, ok := openConfigs.Load(db); ok && strings.Contains(cfg.(*tenantmap.Config).DSN, ":memory:") {
			t.Skip("SQLite :memory: has one connection")
		}
		addAll := func(t *testing.T, calls map[string]tenantmap.FieldDef) {
			t.Helper()
			var wg sync.WaitGroup
			var mu sync.Mutex
			for id, fd := range calls {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := db.Tenants().AddField(cfBG, strings.SplitN(id, "/", 2)[0], "note", fd); err != nil {
						mu.Lock()
						t.Errorf("concurrent AddField %s: %v", id, err)
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
		}
		// Several tenants' first fields at once, on a shared table that has
		// no tm_custom yet: each may be the one to add it.
		t.Run("first fields of several tenants", func(t *testing.T) {
			if !isShared(b) {
				t.Skip("tables of the tenants' own")
			}
			calls := map[string]tenantmap.FieldDef{}
			for _, id := range tenants[1:] {
				calls[id] = tenantmap.FieldDef{Name: "mine", Type: "string", Size: 10, Default: id}
			}
			addAll(t, calls)
			for _, id := range tenants[1:] {
				if got := cfFieldNames(t, db, id, "note"); !slices.Equal(got, []string{"mine"}) {
					t.Errorf("%s's fields: %v", id, got)
				}
				r := &Note{Body: id}
				if err := f.notes.Insert(tctx(id), r); err != nil {
					t.Fatal(err)
				}
				if g := cfMustGet(t, f.notes, id, r.ID); g.Extra.String("mine") != id {
					t.Errorf("%s's mine: %#v", id, g.Extra.Get("mine"))
				}
			}
		})

		v0 := cfVersion(t, db, "acme")
		const n = 6
		calls := map[string]tenantmap.FieldDef{}
		var want []string
		for i := range n {
			name := fmt.Sprint("c", i)
			want = append(want, name)
			calls["acme/"+name] = tenantmap.FieldDef{Name: name, Type: "int64", Nullable: true, Index: !isShared(b) && i%2 == 0}
		}
		addAll(t, calls)
		got := slices.Sorted(slices.Values(cfFieldNames(t, db, "acme", "note")))
		if !slices.Equal(got, want) {
			t.Errorf("acme's fields after concurrent adds: %v; want %v", got, want)
		}
		if v := cfVersion(t, db, "acme"); v < v0+n {
			t.Errorf("acme's version %d after %d changes from %d", v, n, v0)
		}
		cols := cfColumns(t, db, "acme", "note")
		if !isShared(b) {
			if missing := cfMinus(want, cols); len(missing) > 0 {
				t.Errorf("columns missing after concurrent adds: %v (have %v)", missing, cols)
			}
			for i := 0; i < n; i += 2 {
				if len(cfIndexOn(t, db, "acme", "note", want[i])) != 1 {
					t.Errorf("no index on %s after concurrent adds", want[i])
				}
			}
		} else if !slices.Contains(cols, "tm_custom") {
			t.Errorf("no tm_custom after concurrent adds: %v", cols)
		}
		rec := &Note{Body: "all"}
		for i, name := range want {
			rec.Extra.Set(name, i*10)
		}
		if err := f.notes.Insert(tctx("acme"), rec); err != nil {
			t.Fatal(err)
		}
		back := cfMustGet(t, f.notes, "acme", rec.ID)
		for i, name := range want {
			if back.Extra.Get(name) != int64(i*10) {
				t.Errorf("%s: want %d, got %#v", name, i*10, back.Extra.Get(name))
			}
		}
	})
}
