package tenantmap_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tenantmap/tenantmap"
)

// ticketYAML is the run-time counterpart of Case: every field type (and
// every alias), sized and unsized strings, NULLs, defaults (now among
// them), a field index, a unique field and a composite index.
const ticketYAML = `
name: ticket
fields:
  - {name: id, type: int64}
  - {name: title, type: string, size: 20}
  - {name: body, type: text, nullable: true}
  - {name: status, type: string, size: 16, default: open, index: true}
  - {name: priority, type: int16, default: 3}
  - {name: votes, type: int32, default: 7}
  - {name: views, type: int64, nullable: true}
  - {name: score, type: float64, default: 0.5}
  - {name: ratio, type: float32, nullable: true}
  - {name: urgent, type: bool, default: false}
  - {name: due, type: time, nullable: true}
  - {name: created_at, type: time, default: now}
  - {name: blob, type: bytes, nullable: true}
  - {name: meta, type: json, nullable: true}
  - {name: ref, type: string, size: 32, unique: true}
  - {name: owner, type: uuid, nullable: true}
  - {name: legacy, type: integer, nullable: true}
  - {name: amount, type: number, nullable: true}
  - {name: flag, type: boolean, nullable: true}
  - {name: seen, type: timestamp, nullable: true}
indexes:
  - {name: status_priority, fields: [status, priority]}
`

// ticketJSON is ticketYAML written by hand as JSON.
const ticketJSON = `{
  "name": "ticket",
  "fields": [
    {"name": "id", "type": "int64"},
    {"name": "title", "type": "string", "size": 20},
    {"name": "body", "type": "text", "nullable": true},
    {"name": "status", "type": "string", "size": 16, "default": "open", "index": true},
    {"name": "priority", "type": "int16", "default": 3},
    {"name": "votes", "type": "int32", "default": 7},
    {"name": "views", "type": "int64", "nullable": true},
    {"name": "score", "type": "float64", "default": 0.5},
    {"name": "ratio", "type": "float32", "nullable": true},
    {"name": "urgent", "type": "bool", "default": false},
    {"name": "due", "type": "time", "nullable": true},
    {"name": "created_at", "type": "time", "default": "now"},
    {"name": "blob", "type": "bytes", "nullable": true},
    {"name": "meta", "type": "json", "nullable": true},
    {"name": "ref", "type": "string", "size": 32, "unique": true},
    {"name": "owner", "type": "uuid", "nullable": true},
    {"name": "legacy", "type": "integer", "nullable": true},
    {"name": "amount", "type": "number", "nullable": true},
    {"name": "flag", "type": "boolean", "nullable": true},
    {"name": "seen", "type": "timestamp", "nullable": true}
  ],
  "indexes": [{"name": "status_priority", "fields": ["status", "priority"]}]
}`

// noteYAML has a caller-set string key that is not named id and is not
// the first field.
const noteYAML = `
name: note
fields:
  - {name: body, type: text}
  - {name: code, type: string, size: 40, key: true}
  - {name: case_id, type: int64, default: 0, index: true}
`

// deviceJSON has a caller-set UUID key.
const deviceJSON = `{"name": "device", "fields": [{"name": "id", "type": "uuid"}, {"name": "name", "type": "string", "size": 50}]}`

// keywordYAML names its fields with SQL keywords, which only quoting
// makes usable as columns.
const keywordYAML = `
name: keyword
fields:
  - {name: id, type: int32}
  - {name: order, type: int64}
  - {name: select, type: text}
  - {name: group, type: bool, default: true}
  - {name: user, type: string, size: 10, index: true}
  - {name: from, type: time, nullable: true}
`

func mustModel(t testing.TB, doc string) *tenantmap.Model {
	t.Helper()
	s, err := tenantmap.ParseModelDoc([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	m, err := tenantmap.NewModel(*s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// eventYAML is a small model with a generated key and a unique field,
// for batches of more than one chunk.
const eventYAML = `
name: event
fields:
  - {name: id, type: int32}
  - {name: seq, type: int64, unique: true}
`

type runtimeFixture struct {
	db       *tenantmap.DB
	tickets  *tenantmap.Table[tenantmap.Record]
	notes    *tenantmap.Table[tenantmap.Record]
	devices  *tenantmap.Table[tenantmap.Record]
	keywords *tenantmap.Table[tenantmap.Record]
	events   *tenantmap.Table[tenantmap.Record]
	comments *tenantmap.Table[Comment]
	cases    *tenantmap.Table[Case]
}

// newRuntimeFixture opens b's database with the run-time models ticket,
// note, device, keyword and event and the struct models Comment and Case.
func newRuntimeFixture(t *testing.T, b backend) runtimeFixture {
	t.Helper()
	db := b.open(t)
	f := runtimeFixture{db: db}
	var err error
	for _, r := range []struct {
		tbl  **tenantmap.Table[tenantmap.Record]
		doc  string
		name string
	}{
		{&f.tickets, ticketYAML, "ticket"}, {&f.notes, noteYAML, "note"}, {&f.devices, deviceJSON, "device"},
		{&f.keywords, keywordYAML, "keyword"}, {&f.events, eventYAML, "event"},
	} {
		if *r.tbl, err = tenantmap.RegisterModel(db, mustModel(t, r.doc), b.strategy("{tenant}_"+r.name)); err != nil {
			t.Fatal(err)
		}
	}
	if f.comments, err = tenantmap.Register[Comment](db, b.strategy("{tenant}_comment")); err != nil {
		t.Fatal(err)
	}
	if f.cases, err = tenantmap.Register[Case](db, b.strategy("{tenant}_case")); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestRuntime runs the conformance suite of run-time models over every
// backend: one database each, a tenant (or two) of its own per part.
func TestRuntime(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := newRuntimeFixture(t, b)
		for _, part := range []struct {
			name string
			run  func(*testing.T, backend, runtimeFixture)
		}{
			{"CRUD", runtimeCRUD},
			{"Keys", runtimeKeys},
			{"Queries", runtimeQueries},
			{"InsertMany", runtimeInsertMany},
			{"RawAndTx", runtimeRawAndTx},
			{"Isolation", runtimeIsolation},
			{"JSONRoundTrip", runtimeJSONRoundTrip},
			{"Validation", runtimeValidation},
		} {
			t.Run(part.name, func(t *testing.T) { part.run(t, b, f) })
		}
	})
}

// sameJSON reports whether two JSON texts hold equal values, numbers
// compared exactly.
func sameJSON(a, b []byte) bool {
	decode := func(p []byte) (any, bool) {
		d := json.NewDecoder(bytes.NewReader(p))
		d.UseNumber()
		var v any
		return v, d.Decode(&v) == nil
	}
	x, ok1 := decode(a)
	y, ok2 := decode(b)
	return ok1 && ok2 && reflect.DeepEqual(x, y)
}

// sameValue compares two field values as stored: times by instant, JSON
// by value, bytes by content.
func sameValue(a, b any) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	switch x := a.(type) {
	case time.Time:
		y, ok := b.(time.Time)
		return ok && x.Equal(y)
	case json.RawMessage:
		y, ok := b.(json.RawMessage)
		return ok && sameJSON(x, y)
	case []byte:
		y, ok := b.([]byte)
		return ok && bytes.Equal(x, y)
	}
	return reflect.DeepEqual(a, b)
}

// sameRecord checks that got holds want's value in every column of cols
// but skip (an unset field in want stands for NULL).
func sameRecord(t *testing.T, cols []string, want, got *tenantmap.Record, skip ...string) {
	t.Helper()
	for _, c := range cols {
		if slices.Contains(skip, c) {
			continue
		}
		if w, g := want.Get(c), got.Get(c); !sameValue(w, g) {
			t.Errorf("field %s: want %#v (%T), got %#v (%T)", c, w, w, g, g)
		}
	}
}

// useTenant creates the tenant id unless it exists, and returns a context
// for it.
func useTenant(t *testing.T, db *tenantmap.DB, id string) context.Context {
	t.Helper()
	if _, err := db.Tenants().Get(context.Background(), id); errors.Is(err, tenantmap.ErrTenantNotFound) {
		mustCreate(t, db, id)
	} else if err != nil {
		t.Fatal(err)
	}
	return tctx(id)
}

func validationError(t *testing.T, err error) *tenantmap.ValidationError {
	t.Helper()
	var ve *tenantmap.ValidationError
	if !errors.Is(err, tenantmap.ErrInvalidRecord) || !errors.As(err, &ve) {
		t.Fatalf("want a *ValidationError matching ErrInvalidRecord, got %v", err)
	}
	return ve
}

func count(t *testing.T, ctx context.Context, tbl *tenantmap.Table[tenantmap.Record]) int64 {
	t.Helper()
	n, err := tbl.Count(ctx, tenantmap.Query{})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func runtimeCRUD(t *testing.T, b backend, f runtimeFixture) {
	ctx := useTenant(t, f.db, "one") // shared with Keys, which uses other models
	cols := f.tickets.Model().Columns()
	due := time.Date(2026, 12, 1, 9, 30, 0, 123456000, time.FixedZone("CET", 3600))
	owner := "6f1c2a8e-3b4d-4e5f-9a0b-1c2d3e4f5a6b"
	before := time.Now().Add(-time.Minute)
	r := tenantmap.NewRecord(map[string]any{
		"title": "Login fails", "body": "on Safari", "priority": int16(2), "votes": 0, "views": int64(1) << 40,
		"score": 1.5, "ratio": float32(0.25), "urgent": true, "due": due, "blob": []byte{0, 1, 2, 255},
		"meta": map[string]any{"source": "mail", "n": 7}, "ref": "R-1", "owner": owner,
		"legacy": uint16(9), "amount": 2.5, "flag": false, "seen": due.Add(time.Hour),
	})
	if err := f.tickets.Insert(ctx, r); err != nil {
		t.Fatal(err)
	}
	id := r.Int64("id")
	if id == 0 {
		t.Fatal("Insert did not fill the generated key")
	}
	if r.String("status") != "open" {
		t.Errorf("default not applied: status %q", r.String("status"))
	}
	if r.Int64("votes") != 0 {
		t.Errorf("an explicit 0 was replaced by the default: votes %d", r.Int64("votes"))
	}
	if c := r.Time("created_at"); c.Before(before) || c.After(time.Now().Add(time.Minute)) {
		t.Errorf("default now not applied: created_at %v", c)
	}
	// A write normalises the values to their field's Go type.
	for name, want := range map[string]reflect.Type{
		"id": reflect.TypeFor[int64](), "priority": reflect.TypeFor[int64](), "votes": reflect.TypeFor[int64](),
		"legacy": reflect.TypeFor[int64](), "ratio": reflect.TypeFor[float64](), "meta": reflect.TypeFor[json.RawMessage](),
	} {
		if got := reflect.TypeOf(r.Get(name)); got != want {
			t.Errorf("after insert %s is %v, want %v", name, got, want)
		}
	}
	got, err := f.tickets.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	sameRecord(t, cols, r, got)
	if names, want := got.Names(), slices.Sorted(slices.Values(cols)); !slices.Equal(names, want) {
		t.Errorf("Get set fields %v, want every column %v", names, want)
	}
	if got.String("title") != "Login fails" || got.Int64("priority") != 2 || got.Int64("views") != 1<<40 ||
		got.Float64("ratio") != 0.25 || !got.Bool("urgent") || !got.Time("due").Equal(due) ||
		!bytes.Equal(got.Bytes("blob"), []byte{0, 1, 2, 255}) || got.Int64("legacy") != 9 {
		t.Errorf("getters: %v", got)
	}
	if !strings.EqualFold(got.String("owner"), owner) {
		t.Errorf("owner: %q, want %q", got.String("owner"), owner)
	}
	var meta struct {
		Source string
		N      int
	}
	if err := got.Decode("meta", &meta); err != nil || meta.Source != "mail" || meta.N != 7 {
		t.Errorf("Decode meta: %+v %v", meta, err)
	}

	// NULLs come back as NULLs, defaults as the document gives them.
	r2 := tenantmap.NewRecord(map[string]any{"title": "bare", "ref": "R-2"})
	if err := f.tickets.Insert(ctx, r2); err != nil {
		t.Fatal(err)
	}
	if r2.Int64("id") == id {
		t.Fatal("second insert reused the key")
	}
	got2, err := f.tickets.Get(ctx, r2.Int64("id"))
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range f.tickets.Model().Doc().Fields {
		switch {
		case fd.Nullable:
			if !got2.Has(fd.Name) || !got2.IsNull(fd.Name) {
				t.Errorf("%s: want NULL, got %#v", fd.Name, got2.Get(fd.Name))
			}
		case fd.Default != nil && fd.Default != "now":
			if want := fmt.Sprint(fd.Default); fmt.Sprint(got2.Get(fd.Name)) != want {
				t.Errorf("%s: want the default %s, got %#v", fd.Name, want, got2.Get(fd.Name))
			}
		}
	}
	sameRecord(t, cols, r2, got2)

	// Update writes every field.
	got.Set("title", "Login fails on Mac")
	got.SetNull("body")
	got.Set("meta", map[string]any{"source": "web"})
	got.Set("priority", -32768)
	if err := f.tickets.Update(ctx, got); err != nil {
		t.Fatal(err)
	}
	again, err := f.tickets.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	sameRecord(t, cols, got, again)
	if !again.IsNull("body") {
		t.Errorf("body not set to NULL: %#v", again.Get("body"))
	}

	// UpdateColumns writes only the named fields.
	again.Set("title", "ignored")
	again.Set("votes", 32)
	if err := f.tickets.UpdateColumns(ctx, again, "votes"); err != nil {
		t.Fatal(err)
	}
	third, err := f.tickets.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if third.Int64("votes") != 32 || third.String("title") != "Login fails on Mac" {
		t.Errorf("UpdateColumns: got votes %d title %q", third.Int64("votes"), third.String("title"))
	}
	for _, bad := range [][]string{nil, {"id"}, {"nope"}, {"title", "title"}} {
		if err := f.tickets.UpdateColumns(ctx, again, bad...); !errors.Is(err, tenantmap.ErrInvalidQuery) {
			t.Errorf("UpdateColumns(%v): want ErrInvalidQuery, got %v", bad, err)
		}
	}

	// Delete, and not-found everywhere, matching sql.ErrNoRows too.
	if err := f.tickets.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"get":     func() error { _, err := f.tickets.Get(ctx, id); return err }(),
		"delete":  f.tickets.Delete(ctx, id),
		"update":  f.tickets.Update(ctx, got),
		"columns": f.tickets.UpdateColumns(ctx, got, "title"),
		"first":   func() error { _, err := f.tickets.First(ctx, tenantmap.Where("title = ?", "none")); return err }(),
	} {
		if !errors.Is(err, tenantmap.ErrNotFound) || !errors.Is(err, sql.ErrNoRows) {
			t.Errorf("%s after delete: want ErrNotFound and sql.ErrNoRows, got %v", name, err)
		}
		var te *tenantmap.Error
		if !errors.As(err, &te) || te.Tenant != "one" || te.Model != "ticket" {
			t.Errorf("%s: error does not name tenant and model: %#v", name, err)
		}
	}

	// The unique field is enforced by the database.
	dup := tenantmap.NewRecord(map[string]any{"title": "dup", "ref": "R-2"})
	if err := f.tickets.Insert(ctx, dup); err == nil || errors.Is(err, tenantmap.ErrInvalidRecord) {
		t.Errorf("inserting a duplicate unique ref: want a database error, got %v", err)
	}
	if n := count(t, ctx, f.tickets); n != 1 {
		t.Errorf("%d rows left, want 1", n)
	}
}

func runtimeKeys(t *testing.T, b backend, f runtimeFixture) {
	ctx := useTenant(t, f.db, "one") // shared with CRUD, which uses tickets only

	// A string key set by the caller, named by key: true.
	if k := f.notes.Model().Key(); k != "code" {
		t.Errorf("note's key is %q, want code", k)
	}
	n := tenantmap.NewRecord(map[string]any{"code": "c-1", "body": "hello"})
	if err := f.notes.Insert(ctx, n); err != nil {
		t.Fatal(err)
	}
	got, err := f.notes.Get(ctx, "c-1")
	if err != nil || got.String("code") != "c-1" || got.String("body") != "hello" || got.Int64("case_id") != 0 {
		t.Fatalf("got %v, %v", got, err)
	}
	if err := f.notes.Insert(ctx, tenantmap.NewRecord(map[string]any{"body": "no key"})); !errors.Is(err, tenantmap.ErrInvalidQuery) {
		t.Errorf("insert without caller-set key: want ErrInvalidQuery, got %v", err)
	}
	if err := f.notes.Insert(ctx, tenantmap.NewRecord(map[string]any{"code": "c-1", "body": "again"})); err == nil {
		t.Error("duplicate key insert succeeded")
	}
	got.Set("body", "changed")
	if err := f.notes.Update(ctx, got); err != nil {
		t.Fatal(err)
	}
	if g, err := f.notes.Get(ctx, "c-1"); err != nil || g.String("body") != "changed" {
		t.Errorf("after update: %v %v", g, err)
	}
	t.Run("empty key", func(t *testing.T) {
		// As a struct model refuses an empty string key, so should a record.
		err := f.notes.Insert(ctx, tenantmap.NewRecord(map[string]any{"code": "", "body": "empty key"}))
		if !errors.Is(err, tenantmap.ErrInvalidQuery) && !errors.Is(err, tenantmap.ErrInvalidRecord) {
			t.Errorf("insert with an empty string key: want ErrInvalidQuery or ErrInvalidRecord, got %v", err)
		}
	})
	if err := f.notes.Delete(ctx, "c-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.notes.Get(ctx, "c-1"); !errors.Is(err, tenantmap.ErrNotFound) {
		t.Errorf("after delete: %v", err)
	}

	// A UUID key set by the caller.
	const id = "6f1c2a8e-3b4d-4e5f-9a0b-1c2d3e4f5a6b"
	if err := f.devices.Insert(ctx, tenantmap.NewRecord(map[string]any{"id": id, "name": "printer"})); err != nil {
		t.Fatal(err)
	}
	d, err := f.devices.Get(ctx, id)
	if err != nil || d.String("id") != id || d.String("name") != "printer" {
		t.Fatalf("got %v, %v", d, err)
	}
	many := []*tenantmap.Record{
		tenantmap.NewRecord(map[string]any{"id": "00000000-0000-4000-8000-000000000001", "name": "a"}),
		tenantmap.NewRecord(map[string]any{"id": "00000000-0000-4000-8000-000000000002", "name": "b"}),
	}
	if err := f.devices.InsertMany(ctx, many); err != nil {
		t.Fatal(err)
	}
	if n := count(t, ctx, f.devices); n != 3 {
		t.Errorf("count %d, want 3", n)
	}
	// Every backend refuses a malformed UUID before any SQL runs.
	err = f.devices.Insert(ctx, tenantmap.NewRecord(map[string]any{"id": "not-a-uuid", "name": "x"}))
	if ve := validationError(t, err); !strings.Contains(ve.Field("id"), "UUID") {
		t.Errorf("malformed UUID: problem %q does not say UUID", ve.Field("id"))
	}
	if n := count(t, ctx, f.devices); n != 3 {
		t.Errorf("count %d after a refused insert, want 3", n)
	}
	t.Run("upper-case uuid", func(t *testing.T) {
		// A UUID is a UUID whatever the case of its hex digits.
		const upper = "ABCDEF01-2345-4678-9ABC-DEF012345678"
		if err := f.devices.Insert(ctx, tenantmap.NewRecord(map[string]any{"id": upper, "name": "u"})); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{upper, strings.ToLower(upper)} {
			d, err := f.devices.Get(ctx, k)
			if err != nil || !strings.EqualFold(d.String("id"), upper) {
				t.Errorf("Get(%s): %v, %v", k, d, err)
			}
		}
	})

	// Fields named with SQL keywords work once quoted.
	kw, kctx := f.keywords, ctx
	for i := range 3 {
		r := tenantmap.NewRecord(map[string]any{"order": i, "select": fmt.Sprint("s", i), "user": "u", "from": time.Unix(int64(i), 0)})
		if err := kw.Insert(kctx, r); err != nil {
			t.Fatal(err)
		}
	}
	first, err := kw.First(kctx, tenantmap.OrderBy("order DESC"))
	if err != nil || first.Int64("order") != 2 || first.String("select") != "s2" || !first.Bool("group") {
		t.Fatalf("First by order DESC: %v %v", first, err)
	}
	first.Set("select", "changed")
	if err := kw.UpdateColumns(kctx, first, "select"); err != nil {
		t.Fatal(err)
	}
	if err := kw.Update(kctx, first); err != nil {
		t.Fatal(err)
	}
	if g, err := kw.Get(kctx, first.Int64("id")); err != nil || g.String("select") != "changed" {
		t.Errorf("after update: %v %v", g, err)
	}
	if err := kw.Delete(kctx, first.Int64("id")); err != nil {
		t.Fatal(err)
	}
	if n := count(t, kctx, kw); n != 2 {
		t.Errorf("count %d, want 2", n)
	}
}

// ticketBatch makes n tickets: every fourth closed, priorities 0-4,
// every third urgent, even ones due an hour apart.
func ticketBatch(n int, base time.Time) []*tenantmap.Record {
	var out []*tenantmap.Record
	for i := 1; i <= n; i++ {
		r := tenantmap.NewRecord(map[string]any{"title": fmt.Sprintf("case %02d", i), "priority": i % 5, "ref": fmt.Sprint(i), "urgent": i%3 == 0})
		if i%4 == 0 {
			r.Set("status", "closed")
		}
		if i%2 == 0 {
			r.Set("due", base.Add(time.Duration(i)*time.Hour))
		}
		out = append(out, r)
	}
	return out
}

func runtimeQueries(t *testing.T, b backend, f runtimeFixture) {
	mustCreate(t, f.db, "queries")
	ctx := tctx("queries")
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	all := ticketBatch(20, base)
	if err := f.tickets.InsertMany(ctx, all); err != nil {
		t.Fatal(err)
	}
	seen := map[int64]bool{}
	for _, r := range all {
		id := r.Int64("id")
		if id == 0 || seen[id] {
			t.Fatalf("InsertMany keys not filled or repeated: %d", id)
		}
		seen[id] = true
	}
	for _, r := range all[:3] {
		got, err := f.tickets.Get(ctx, r.Get("id"))
		if err != nil || got.String("title") != r.String("title") {
			t.Fatalf("InsertMany key %v does not fetch its own row: %v %v", r.Get("id"), got, err)
		}
	}

	open, err := f.tickets.Find(ctx, tenantmap.Where("status = ?", "open").OrderBy("priority DESC", "title").Limit(5).Offset(2))
	if err != nil {
		t.Fatal(err)
	}
	var opens []*tenantmap.Record
	for _, r := range all {
		if r.String("status") == "open" {
			opens = append(opens, r)
		}
	}
	slices.SortFunc(opens, func(a, b *tenantmap.Record) int {
		if a.Int64("priority") != b.Int64("priority") {
			return int(b.Int64("priority") - a.Int64("priority"))
		}
		return strings.Compare(a.String("title"), b.String("title"))
	})
	var want, gotTitles []string
	for _, r := range opens[2:7] {
		want = append(want, r.String("title"))
	}
	for _, r := range open {
		gotTitles = append(gotTitles, r.String("title"))
	}
	if !slices.Equal(want, gotTitles) {
		t.Errorf("Find: want %v, got %v", want, gotTitles)
	}

	countWhere := func(pred func(r *tenantmap.Record) bool) int64 {
		var n int64
		for _, r := range all {
			if pred(r) {
				n++
			}
		}
		return n
	}
	cutoff := base.Add(9 * time.Hour)
	for name, c := range map[string]struct {
		q    tenantmap.Query
		want int64
	}{
		"closed":      {tenantmap.Where("status = ?", "closed"), countWhere(func(r *tenantmap.Record) bool { return r.String("status") == "closed" })},
		"limit":       {tenantmap.Query{}.Limit(1), int64(len(all))},
		"urgent":      {tenantmap.Where("urgent = ?", true), countWhere(func(r *tenantmap.Record) bool { return r.Bool("urgent") })},
		"due before":  {tenantmap.Where("due < ?", cutoff), countWhere(func(r *tenantmap.Record) bool { return !r.IsNull("due") && r.Time("due").Before(cutoff) })},
		"due is null": {tenantmap.Where("due IS NULL"), countWhere(func(r *tenantmap.Record) bool { return r.IsNull("due") })},
	} {
		if n, err := f.tickets.Count(ctx, c.q); err != nil || n != c.want {
			t.Errorf("Count %s: want %d, got %d %v", name, c.want, n, err)
		}
	}
	ok, err := f.tickets.Exists(ctx, tenantmap.Where("priority = ?", 4).Where("status = ?", "closed"))
	if want := countWhere(func(r *tenantmap.Record) bool { return r.Int64("priority") == 4 && r.String("status") == "closed" }) > 0; err != nil || ok != want {
		t.Errorf("Exists: want %v, got %v %v", want, ok, err)
	}
	ok, err = f.tickets.Exists(ctx, tenantmap.Where("priority > ?", 100))
	if err != nil || ok {
		t.Errorf("Exists: want false, got %v %v", ok, err)
	}
	first, err := f.tickets.First(ctx, tenantmap.OrderBy("title DESC"))
	if err != nil || first.String("title") != all[len(all)-1].String("title") {
		t.Errorf("First: got %v %v", first, err)
	}

	// The iterator streams and stops early without leaking the rows.
	n := 0
	for r, err := range f.tickets.All(ctx, tenantmap.OrderBy("id")) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		if r.Int64("id") != all[n-1].Int64("id") {
			t.Errorf("All: row %d has key %d, want %d", n, r.Int64("id"), all[n-1].Int64("id"))
		}
		if n == 3 {
			break
		}
	}
	if n != 3 {
		t.Errorf("All: stopped after %d rows", n)
	}
	for range 10 {
		if _, err := f.tickets.Count(ctx, tenantmap.Query{}); err != nil {
			t.Fatal(err)
		}
	}

	for _, q := range []tenantmap.Query{
		tenantmap.OrderBy("title; DROP TABLE x"),
		tenantmap.OrderBy("nope"),
		tenantmap.Where("status = ? AND priority = ?", "open"),
	} {
		if _, err := f.tickets.Find(ctx, q); !errors.Is(err, tenantmap.ErrInvalidQuery) {
			t.Errorf("%+v: want ErrInvalidQuery, got %v", q, err)
		}
	}
}

func runtimeInsertMany(t *testing.T, b backend, f runtimeFixture) {
	mustCreate(t, f.db, "many")
	ctx := tctx("many")

	// String keys, more than one chunk of 500 rows.
	var ns []*tenantmap.Record
	for i := range 520 {
		ns = append(ns, tenantmap.NewRecord(map[string]any{"code": fmt.Sprintf("k%04d", i), "case_id": i % 7, "body": fmt.Sprint("b", i)}))
	}
	if err := f.notes.InsertMany(ctx, ns); err != nil {
		t.Fatal(err)
	}
	if n := count(t, ctx, f.notes); n != int64(len(ns)) {
		t.Fatalf("count after InsertMany: %d", n)
	}
	got, err := f.notes.Get(ctx, "k0509")
	if err != nil || got.Int64("case_id") != 509%7 || got.String("body") != "b509" {
		t.Errorf("got %v %v", got, err)
	}
	// A batch with a duplicate key fails whole.
	bad := []*tenantmap.Record{
		tenantmap.NewRecord(map[string]any{"code": "new-1", "body": "x"}),
		tenantmap.NewRecord(map[string]any{"code": "k0001", "body": "dup"}),
	}
	if err := f.notes.InsertMany(ctx, bad); err == nil {
		t.Fatal("InsertMany with a duplicate key succeeded")
	}
	if _, err := f.notes.Get(ctx, "new-1"); !errors.Is(err, tenantmap.ErrNotFound) {
		t.Errorf("a failed InsertMany left a row behind: %v", err)
	}

	// A batch breaking a unique field stores nothing and hands back no
	// keys: within one statement, and across chunks of 500 rows.
	for _, size := range []int{2, 520} {
		var batch []*tenantmap.Record
		for i := range size {
			batch = append(batch, tenantmap.NewRecord(map[string]any{"seq": int64(size)*1000 + int64(i)}))
		}
		batch = append(batch, tenantmap.NewRecord(map[string]any{"seq": batch[0].Get("seq")}))
		if err := f.events.InsertMany(ctx, batch); err == nil {
			t.Fatalf("a batch of %d breaking a unique index was stored", len(batch))
		}
		for i, r := range batch {
			if r.Int64("id") != 0 {
				t.Fatalf("record %d of %d kept key %v from a failed batch", i, len(batch), r.Get("id"))
			}
		}
		if n := count(t, ctx, f.events); n != 0 {
			t.Errorf("%d rows of a failed batch of %d were stored", n, len(batch))
		}
		// Without the duplicate the same records go in, with keys of their own.
		batch = batch[:size]
		if err := f.events.InsertMany(ctx, batch); err != nil {
			t.Fatal(err)
		}
		seen := map[int64]bool{}
		for _, r := range batch {
			if k := r.Int64("id"); k == 0 || seen[k] {
				t.Fatalf("key %d missing or repeated", k)
			}
			seen[r.Int64("id")] = true
		}
		last, err := f.events.Get(ctx, batch[size-1].Get("id"))
		if err != nil || last.Int64("seq") != batch[size-1].Int64("seq") {
			t.Errorf("the last record's key fetches %v %v", last, err)
		}
		if _, err := f.db.Exec(ctx, "DELETE FROM {event} WHERE {tenant}"); err != nil {
			t.Fatal(err)
		}
	}
	// The same for a wide model, in one statement.
	wide := ticketBatch(3, time.Now())
	wide = append(wide, tenantmap.NewRecord(map[string]any{"title": "dup", "ref": wide[0].String("ref")}))
	if err := f.tickets.InsertMany(ctx, wide); err == nil {
		t.Fatal("a batch of tickets breaking a unique index was stored")
	}
	for i, r := range wide {
		if r.Int64("id") != 0 {
			t.Errorf("ticket %d kept key %v from a failed batch", i, r.Get("id"))
		}
	}
	if n := count(t, ctx, f.tickets); n != 0 {
		t.Errorf("%d tickets of a failed batch were stored", n)
	}

	// An invalid record anywhere in a batch stops it before any SQL.
	batch := ticketBatch(5, time.Now())
	batch[3].Set("title", strings.Repeat("x", 21))
	err = f.tickets.InsertMany(ctx, batch)
	if ve := validationError(t, err); ve.Field("title") == "" {
		t.Errorf("the problem does not name title: %v", err)
	}
	if n := count(t, ctx, f.tickets); n != 0 {
		t.Errorf("%d rows of a refused batch were stored", n)
	}
	for i, r := range batch {
		if r.Int64("id") != 0 {
			t.Errorf("record %d of a refused batch has key %v", i, r.Get("id"))
		}
	}
	// Fixed, the same records go in.
	batch[3].Set("title", "fixed")
	if err := f.tickets.InsertMany(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if n := count(t, ctx, f.tickets); n != int64(len(batch)) {
		t.Errorf("%d rows, want %d", n, len(batch))
	}
}

func runtimeRawAndTx(t *testing.T, b backend, f runtimeFixture) {
	mustCreate(t, f.db, "acme", "globex")
	for _, id := range []string{"acme", "globex"} {
		for i := range 3 {
			r := tenantmap.NewRecord(map[string]any{"title": id, "priority": i, "ref": fmt.Sprint(i)})
			if err := f.tickets.Insert(tctx(id), r); err != nil {
				t.Fatal(err)
			}
		}
	}
	ctx := tctx("acme")
	n, err := f.db.Exec(ctx, "UPDATE {ticket} SET status = ? WHERE priority >= ? AND {tenant}", "closed", 1)
	if err != nil || n != 2 {
		t.Fatalf("Exec: %d %v", n, err)
	}
	var title string
	var cnt int64
	if err := f.db.QueryRow(ctx, "SELECT title, count(*) FROM {ticket} WHERE status = ? AND {tenant} GROUP BY title", "closed").Scan(&title, &cnt); err != nil {
		t.Fatal(err)
	}
	if title != "acme" || cnt != 2 {
		t.Errorf("raw query saw %q × %d, want acme × 2", title, cnt)
	}
	if gn, err := f.tickets.Count(tctx("globex"), tenantmap.Where("status = ?", "closed")); err != nil || gn != 0 {
		t.Errorf("raw Exec for acme closed %d of globex's tickets (%v)", gn, err)
	}
	// A run-time model and a struct model joined.
	first, err := f.tickets.First(ctx, tenantmap.OrderBy("id"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.comments.Insert(ctx, &Comment{ID: "m0", CaseID: first.Int64("id"), Body: "joined"}); err != nil {
		t.Fatal(err)
	}
	var ref, body string
	if err := f.db.QueryRow(ctx, "SELECT t.ref, c.body FROM {ticket} t JOIN {comment} c ON c.case_id = t.id WHERE {t.tenant} AND {c.tenant}").Scan(&ref, &body); err != nil {
		t.Fatal(err)
	}
	if ref != first.String("ref") || body != "joined" {
		t.Errorf("join: %q %q", ref, body)
	}
	for _, bad := range []string{"SELECT * FROM {nope}", "SELECT 1; SELECT 2", "SELECT ? FROM {ticket}"} {
		if _, err := f.db.Exec(ctx, bad); !errors.Is(err, tenantmap.ErrInvalidQuery) {
			t.Errorf("%q: want ErrInvalidQuery, got %v", bad, err)
		}
	}

	// A transaction spanning the run-time model and the struct model commits both ...
	tickets0, comments0 := count(t, ctx, f.tickets), int64(1)
	err = f.db.InTx(ctx, func(ctx context.Context) error {
		r := tenantmap.NewRecord(map[string]any{"title": "in tx", "ref": "t1"})
		if err := f.tickets.Insert(ctx, r); err != nil {
			return err
		}
		return f.comments.Insert(ctx, &Comment{ID: "m1", CaseID: r.Int64("id"), Body: "x"})
	})
	if err != nil {
		t.Fatal(err)
	}
	tx1, err := f.tickets.First(ctx, tenantmap.Where("ref = ?", "t1"))
	if err != nil {
		t.Fatal(err)
	}
	if c, err := f.comments.Get(ctx, "m1"); err != nil || c.CaseID != tx1.Int64("id") {
		t.Errorf("committed comment: %+v %v", c, err)
	}
	// ... and an error rolls back both, and the raw statement with them.
	boom := errors.New("boom")
	err = f.db.InTx(ctx, func(ctx context.Context) error {
		batch := []*tenantmap.Record{
			tenantmap.NewRecord(map[string]any{"title": "tx a", "ref": "tx-a"}),
			tenantmap.NewRecord(map[string]any{"title": "tx b", "ref": "tx-b"}),
		}
		if err := f.tickets.InsertMany(ctx, batch); err != nil {
			return err
		}
		if err := f.comments.Insert(ctx, &Comment{ID: "m2", Body: "y"}); err != nil {
			return err
		}
		if _, err := f.db.Exec(ctx, "DELETE FROM {ticket} WHERE ref = ? AND {tenant}", "t1"); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx returned %v, want boom", err)
	}
	if n := count(t, ctx, f.tickets); n != tickets0+1 {
		t.Errorf("after rollback %d tickets, want %d", n, tickets0+1)
	}
	if n, _ := f.comments.Count(ctx, tenantmap.Query{}); n != comments0+1 {
		t.Errorf("after rollback %d comments, want %d", n, comments0+1)
	}
	if _, err := f.tickets.Get(ctx, tx1.Get("id")); err != nil {
		t.Errorf("rollback lost t1: %v", err)
	}
	// A panic rolls back and propagates.
	func() {
		defer func() {
			if recover() == nil {
				t.Error("panic swallowed")
			}
		}()
		_ = f.db.InTx(ctx, func(ctx context.Context) error {
			_ = f.tickets.Insert(ctx, tenantmap.NewRecord(map[string]any{"title": "panic", "ref": "t3"}))
			panic("boom")
		})
	}()
	if n := count(t, ctx, f.tickets); n != tickets0+1 {
		t.Errorf("panic kept a ticket: %d", n)
	}
	// Another tenant inside the transaction is refused.
	err = f.db.InTx(ctx, func(ctx context.Context) error {
		if _, err := f.tickets.For("globex").Count(ctx, tenantmap.Query{}); !errors.Is(err, tenantmap.ErrTenantMismatch) {
			t.Errorf("cross-tenant call in tx: want ErrTenantMismatch, got %v", err)
		}
		if _, err := f.tickets.Count(tenantmap.WithTenant(ctx, "globex"), tenantmap.Query{}); !errors.Is(err, tenantmap.ErrTenantMismatch) {
			t.Errorf("cross-tenant context in tx: want ErrTenantMismatch, got %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func runtimeIsolation(t *testing.T, b backend, f runtimeFixture) {
	a, g := "iso-a", "iso-b"
	mustCreate(t, f.db, a, g)
	tenants := map[string]int{a: 4, g: 2}
	keys := map[string][]int64{}
	for id, n := range tenants {
		for i := range n {
			// The same ref and note code in both tenants: unique per tenant.
			r := tenantmap.NewRecord(map[string]any{"title": id, "ref": fmt.Sprint(i)})
			if err := f.tickets.Insert(tctx(id), r); err != nil {
				t.Fatal(err)
			}
			keys[id] = append(keys[id], r.Int64("id"))
			if err := f.notes.Insert(tctx(id), tenantmap.NewRecord(map[string]any{"code": fmt.Sprint(id, i), "body": id})); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.notes.Insert(tctx(id), tenantmap.NewRecord(map[string]any{"code": "same", "body": id})); err != nil {
			t.Fatal(err)
		}
	}
	for id, n := range tenants {
		ctx := tctx(id)
		rows, err := f.tickets.Find(ctx, tenantmap.Where("1 = 1"))
		if err != nil || len(rows) != n {
			t.Errorf("%s sees %d tickets, want %d (%v)", id, len(rows), n, err)
		}
		for _, r := range rows {
			if r.String("title") != id {
				t.Errorf("%s sees %s's ticket %v", id, r.String("title"), r.Get("id"))
			}
		}
		if c := count(t, ctx, f.notes); c != int64(n+1) {
			t.Errorf("%s counts %d notes, want %d", id, c, n+1)
		}
		if s, err := f.notes.Get(ctx, "same"); err != nil || s.String("body") != id {
			t.Errorf("%s's note same: %v %v", id, s, err)
		}
		for _, title := range rawStrings(t, f.db, ctx, "SELECT title FROM {ticket} WHERE {tenant}") {
			if title != id {
				t.Errorf("raw query for %s saw %s's ticket", id, title)
			}
		}
	}
	// A key of a's, and a note of a's, name nothing in g.
	actx, gctx := tctx(a), tctx(g)
	for _, k := range keys[a] {
		if slices.Contains(keys[g], k) {
			continue // the same number is g's own row
		}
		row, err := f.tickets.Get(actx, k)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.tickets.Get(gctx, k); !errors.Is(err, tenantmap.ErrNotFound) {
			t.Errorf("%s Get(%d) of %s's key: want ErrNotFound, got %v", g, k, a, err)
		}
		row.Set("title", "hijacked")
		if err := f.tickets.Update(gctx, row); !errors.Is(err, tenantmap.ErrNotFound) {
			t.Errorf("%s Update of %s's row: want ErrNotFound, got %v", g, a, err)
		}
		if err := f.tickets.UpdateColumns(gctx, row, "title"); !errors.Is(err, tenantmap.ErrNotFound) {
			t.Errorf("%s UpdateColumns of %s's row: want ErrNotFound, got %v", g, a, err)
		}
		if err := f.tickets.Delete(gctx, k); !errors.Is(err, tenantmap.ErrNotFound) {
			t.Errorf("%s Delete of %s's key: want ErrNotFound, got %v", g, a, err)
		}
		if r, err := f.tickets.Get(actx, k); err != nil || r.String("title") != a {
			t.Errorf("%s's row after %s's attempts: %v %v", a, g, r, err)
		}
	}
	if _, err := f.notes.Get(gctx, a+"0"); !errors.Is(err, tenantmap.ErrNotFound) {
		t.Errorf("%s Get of %s's note: want ErrNotFound, got %v", g, a, err)
	}
	if err := f.notes.Delete(gctx, a+"0"); !errors.Is(err, tenantmap.ErrNotFound) {
		t.Errorf("%s Delete of %s's note: want ErrNotFound, got %v", g, a, err)
	}
	if c := count(t, actx, f.notes); c != int64(tenants[a]+1) {
		t.Errorf("%s's notes after %s's delete: %d", a, g, c)
	}
	if n, err := f.db.Exec(gctx, "DELETE FROM {note} WHERE {tenant}"); err != nil || n != int64(tenants[g]+1) {
		t.Errorf("%s's raw delete: %d rows, want %d (%v)", g, n, tenants[g]+1, err)
	}
	if c := count(t, actx, f.notes); c != int64(tenants[a]+1) {
		t.Errorf("%s's notes after %s's raw delete: %d", a, g, c)
	}
}

func runtimeJSONRoundTrip(t *testing.T, b backend, f runtimeFixture) {
	ctx := useTenant(t, f.db, "two") // shared with Validation
	cols := f.tickets.Model().Columns()
	due := time.Date(2026, 5, 6, 7, 8, 9, 654321000, time.FixedZone("", -7*3600))
	blob := []byte{0, 1, 127, 128, 255}
	const big = int64(1)<<53 + 1 // not exact as a float64
	r := tenantmap.NewRecord(map[string]any{
		"title": "Grüße", "body": "line\nbreak \"quoted\"", "priority": 32767, "votes": math.MinInt32, "views": big,
		"score": 0.1, "ratio": float32(-1.5), "urgent": true, "due": due, "blob": blob,
		"meta": map[string]any{"n": big, "list": []any{1, "two", nil}, "nested": map[string]any{"ok": true}},
		"ref":  "J-1", "owner": "00000000-0000-4000-8000-00000000abcd", "legacy": -1, "amount": 1e300, "flag": true,
	})
	if err := f.tickets.Insert(ctx, r); err != nil {
		t.Fatal(err)
	}
	g1, err := f.tickets.Get(ctx, r.Get("id"))
	if err != nil {
		t.Fatal(err)
	}
	sameRecord(t, cols, r, g1)
	doc, err := json.Marshal(g1)
	if err != nil {
		t.Fatal(err)
	}
	// The document's form: times in RFC 3339, bytes in base64, JSON
	// fields inline, integers exact, NULLs null.
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(doc, &obj); err != nil {
		t.Fatal(err)
	}
	var dueText, blobText string
	if err := json.Unmarshal(obj["due"], &dueText); err != nil {
		t.Errorf("due is not a string: %s", obj["due"])
	}
	if p, err := time.Parse(time.RFC3339, dueText); err != nil || !p.Equal(due) {
		t.Errorf("due as %q: %v %v", dueText, p, err)
	}
	if err := json.Unmarshal(obj["blob"], &blobText); err != nil || blobText != base64.StdEncoding.EncodeToString(blob) {
		t.Errorf("blob as %s, want base64 of %v", obj["blob"], blob)
	}
	if m := bytes.TrimSpace(obj["meta"]); len(m) == 0 || m[0] != '{' || !sameJSON(m, g1.Get("meta").(json.RawMessage)) {
		t.Errorf("meta not inline: %s", obj["meta"])
	}
	if string(obj["views"]) != fmt.Sprint(big) {
		t.Errorf("views as %s, want %d", obj["views"], big)
	}
	if string(obj["seen"]) != "null" {
		t.Errorf("seen (NULL) as %s", obj["seen"])
	}

	var r2 tenantmap.Record
	if err := json.Unmarshal(doc, &r2); err != nil {
		t.Fatal(err)
	}
	if _, ok := r2.Get("views").(json.Number); !ok {
		t.Errorf("before a write views is %T, want json.Number", r2.Get("views"))
	}
	if r2.Int64("views") != big {
		t.Errorf("Int64 of json.Number: %d, want %d", r2.Int64("views"), big)
	}
	r2.Unset("id")
	r2.Set("ref", "J-2")
	if err := f.tickets.Insert(ctx, &r2); err != nil {
		t.Fatal(err)
	}
	if v, ok := r2.Get("views").(int64); !ok || v != big {
		t.Errorf("after a write views is %#v, want int64 %d", r2.Get("views"), big)
	}
	if r2.Int64("id") == g1.Int64("id") || r2.Int64("id") == 0 {
		t.Errorf("the copy's key %v", r2.Get("id"))
	}
	g2, err := f.tickets.Get(ctx, r2.Get("id"))
	if err != nil {
		t.Fatal(err)
	}
	sameRecord(t, cols, g1, g2, "id", "ref")
	// And the copy's document is the first's but for id and ref.
	doc2, err := json.Marshal(g2)
	if err != nil {
		t.Fatal(err)
	}
	var a, c map[string]any
	if err := json.Unmarshal(doc, &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(doc2, &c); err != nil {
		t.Fatal(err)
	}
	for _, m := range []map[string]any{a, c} {
		delete(m, "id")
		delete(m, "ref")
		for k, v := range m { // one instant may be written in two zones
			if s, ok := v.(string); ok {
				if p, err := time.Parse(time.RFC3339, s); err == nil {
					m[k] = p.UTC().Format(time.RFC3339Nano)
				}
			}
		}
	}
	if !reflect.DeepEqual(a, c) {
		t.Errorf("documents differ:\n%s\n%s", doc, doc2)
	}
	// An empty or invalid document is refused.
	var r3 tenantmap.Record
	if err := json.Unmarshal([]byte(`[1]`), &r3); err == nil {
		t.Error("a JSON array was read as a record")
	}
}

func runtimeValidation(t *testing.T, b backend, f runtimeFixture) {
	cases := f.cases
	ctx := useTenant(t, f.db, "two") // shared with JSONRoundTrip: counts are relative
	n0 := count(t, ctx, f.tickets)
	c0, err := cases.Count(ctx, tenantmap.Query{})
	if err != nil {
		t.Fatal(err)
	}

	// Every field's problem at once, and nothing written.
	bad := tenantmap.NewRecord(map[string]any{
		"title":    strings.Repeat("é", 21),
		"priority": 1 << 15,
		"votes":    int64(1) << 31,
		"views":    2.5,
		"score":    "high",
		"ratio":    math.NaN(),
		"urgent":   "yes",
		"due":      5,
		"blob":     42,
		"meta":     make(chan int),
		"owner":    "not-a-uuid",
		"legacy":   "12",
		"nope":     1,
		"body":     "a\x00b",
		"status":   "bad \xff",
		// ref, required, is missing
	})
	err = f.tickets.Insert(ctx, bad)
	ve := validationError(t, err)
	if ve.Model != "ticket" {
		t.Errorf("ValidationError.Model %q", ve.Model)
	}
	var te *tenantmap.Error
	if !errors.As(err, &te) || te.Tenant != "two" || te.Model != "ticket" || te.Op != "insert" {
		t.Errorf("the error does not name op, tenant and model: %#v", err)
	}
	wantProblems := map[string]string{
		"title": "size", "priority": "range", "votes": "range", "views": "integer", "score": "number",
		"ratio": "number", "urgent": "bool", "due": "time", "blob": "byte", "meta": "JSON",
		"owner": "UUID", "legacy": "integer", "nope": "no such field", "ref": "required",
		"body": "NUL", "status": "UTF-8",
	}
	var named []string
	for _, fe := range ve.Fields {
		named = append(named, fe.Field)
	}
	if want := slices.Sorted(func(yield func(string) bool) {
		for k := range wantProblems {
			if !yield(k) {
				return
			}
		}
	}); !slices.Equal(slices.Sorted(slices.Values(named)), want) {
		t.Errorf("fields named %v, want %v", named, want)
	}
	for field, word := range wantProblems {
		if p := ve.Field(field); !strings.Contains(p, word) {
			t.Errorf("%s: problem %q does not say %q", field, p, word)
		}
		if !strings.Contains(err.Error(), field) {
			t.Errorf("the message does not name %s: %v", field, err)
		}
	}
	if ve.Field("seen") != "" || ve.Field("id") != "" {
		t.Errorf("fields unset (nullable, or generated) have problems: %v", ve)
	}
	if n := count(t, ctx, f.tickets); n != n0 {
		t.Errorf("a refused insert wrote %d rows", n-n0)
	}

	// Limits: sizes count characters, integer widths their range.
	edge := tenantmap.NewRecord(map[string]any{
		"title": strings.Repeat("é", 20), "ref": "edge", "priority": math.MinInt16, "votes": math.MaxInt32,
		"views": float64(1 << 50), "legacy": json.Number("12"), "ratio": 3, "due": "2026-01-02T03:04:05Z", "blob": base64.StdEncoding.EncodeToString([]byte("hi")),
	})
	if err := f.tickets.Insert(ctx, edge); err != nil {
		t.Fatalf("values at the limits: %v", err)
	}
	got, err := f.tickets.Get(ctx, edge.Get("id"))
	if err != nil {
		t.Fatal(err)
	}
	if got.String("title") != strings.Repeat("é", 20) || got.Int64("priority") != math.MinInt16 || got.Int64("votes") != math.MaxInt32 ||
		got.Int64("views") != 1<<50 || got.Int64("legacy") != 12 || got.Float64("ratio") != 3 ||
		!got.Time("due").Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) || string(got.Bytes("blob")) != "hi" {
		t.Errorf("values at the limits came back as %v", got)
	}

	// Update checks every field; UpdateColumns the ones it names.
	got.Set("priority", math.MaxInt16+1)
	got.Unset("title")
	ve = validationError(t, f.tickets.Update(ctx, got))
	if ve.Field("priority") == "" || !strings.Contains(ve.Field("title"), "required") {
		t.Errorf("Update: %v", ve)
	}
	got.Set("title", strings.Repeat("x", 21))
	ve = validationError(t, f.tickets.UpdateColumns(ctx, got, "priority"))
	if ve.Field("priority") == "" || ve.Field("title") != "" {
		t.Errorf("UpdateColumns(priority): %v", ve)
	}
	got.Set("votes", 1)
	if err := f.tickets.UpdateColumns(ctx, got, "votes"); err != nil {
		t.Errorf("UpdateColumns(votes) with a bad field it does not write: %v", err)
	}
	after, err := f.tickets.Get(ctx, edge.Get("id"))
	if err != nil {
		t.Fatal(err)
	}
	if after.Int64("priority") != math.MinInt16 || after.String("title") != strings.Repeat("é", 20) || after.Int64("votes") != 1 {
		t.Errorf("after refused updates: priority %d title %q votes %d", after.Int64("priority"), after.String("title"), after.Int64("votes"))
	}
	if n := count(t, ctx, f.tickets); n != n0+1 {
		t.Errorf("%d rows, want %d", n, n0+1)
	}

	t.Run("float32 range", func(t *testing.T) {
		// A float32 field holds what a float32 can: a larger number is
		// refused before SQL, as an int16's is, rather than stored as
		// infinity or refused by some databases only.
		n0 := count(t, ctx, f.tickets)
		r := tenantmap.NewRecord(map[string]any{"title": "big", "ref": "f32", "ratio": 1e39})
		err := f.tickets.Insert(ctx, r)
		if !errors.Is(err, tenantmap.ErrInvalidRecord) {
			got := "stored"
			if err != nil {
				got = err.Error()
			} else if g, err := f.tickets.Get(ctx, r.Get("id")); err == nil {
				got = fmt.Sprintf("stored, read back as %v", g.Get("ratio"))
			}
			t.Errorf("ratio (float32) = 1e39: want ErrInvalidRecord, got %s", got)
		}
		if !errors.Is(err, tenantmap.ErrInvalidRecord) && err == nil {
			if err := f.tickets.Delete(ctx, r.Get("id")); err != nil {
				t.Fatal(err)
			}
		}
		if n := count(t, ctx, f.tickets); n != n0 {
			t.Errorf("%d rows, want %d", n, n0)
		}
	})

	// A struct model's sized string is checked before SQL too.
	long := &Case{Title: strings.Repeat("é", 201), Ref: "long"}
	if ve := validationError(t, cases.Insert(ctx, long)); !strings.Contains(ve.Field("title"), "size") {
		t.Errorf("struct title over its size: %v", ve)
	}
	if err := cases.Insert(ctx, &Case{Title: strings.Repeat("é", 200), Ref: "fits"}); err != nil {
		t.Errorf("struct title of 200 characters: %v", err)
	}
	if n, err := cases.Count(ctx, tenantmap.Query{}); err != nil || n != c0+1 {
		t.Errorf("cases: %d %v, want %d", n, err, c0+1)
	}
}

// badModels are documents NewModel (or ParseModelDoc) refuses, each with
// words the error must contain. Each is baseModel with one thing wrong.
var badModels = []struct {
	name, doc string
	want      []string
}{
	{"unknown type", `- {name: x, type: varchar}`, []string{`"x"`, "type", "varchar"}},
	{"duplicate field", `- {name: title, type: text}`, []string{`"title"`, "twice"}},
	{"tenant_id", `- {name: tenant_id, type: text}`, []string{"tenant_id"}},
	{"tm_custom", `- {name: tm_custom, type: json}`, []string{"tm_custom"}},
	{"tenantmap_ prefix", `- {name: tenantmap_x, type: int64}`, []string{"tenantmap_x"}},
	{"upper case", `- {name: Title, type: text}`, []string{`"Title"`, "name"}},
	{"space", `- {name: "a b", type: text}`, []string{`"a b"`, "name"}},
	{"semicolon", `- {name: "x;drop", type: text}`, []string{`"x;drop"`, "name"}},
	{"empty name", `- {name: "", type: text}`, []string{"field 3", "name"}},
	{"long name", `- {name: ` + strings.Repeat("a", 64) + `, type: text}`, []string{strings.Repeat("a", 64)}},
	{"two keys", "- {name: k1, type: string, key: true}\n  - {name: k2, type: uuid, key: true}", []string{"2 keys", "k1", "k2"}},
	{"size on int", `- {name: n, type: int64, size: 4}`, []string{`"n"`, "size"}},
	{"size negative", `- {name: s, type: string, size: -1}`, []string{`"s"`, "size"}},
	{"size too large", `- {name: s, type: string, size: 65536}`, []string{`"s"`, "size"}},
	{"int default", `- {name: n, type: int32, default: abc}`, []string{`"n"`, "default", "abc"}},
	{"bool default", `- {name: b, type: bool, default: 3}`, []string{`"b"`, "default"}},
	{"float default", `- {name: f, type: float64, default: many}`, []string{`"f"`, "default"}},
	{"time default", `- {name: t, type: time, default: yesterday}`, []string{`"t"`, "default"}},
	{"json default", `- {name: j, type: json, default: "{}"}`, []string{`"j"`, "default"}},
	{"list default", `- {name: l, type: text, default: [a, b]}`, []string{`"l"`, "default"}},
	{"default too long", `- {name: s, type: string, size: 2, default: abc}`, []string{`"s"`, "default"}},
	{"int16 default out of range", `- {name: n, type: int16, default: 40000}`, []string{`"n"`, "default"}},
	{"int32 default out of range", `- {name: n, type: int32, default: 3000000000}`, []string{`"n"`, "default"}},
	{"float32 default out of range", `- {name: r, type: float32, default: 1e39}`, []string{`"r"`, "default"}},
	{"unknown property", `- {name: x, type: text, sise: 4}`, []string{"sise"}},
	{"wrong property type", `- {name: x, type: text, nullable: maybe}`, []string{"maybe"}},
	{"index field twice", `- {name: code, type: string}` + "\nindexes:\n  - {name: by_id, fields: [id, id]}", []string{"by_id", `"id"`, "twice"}},
	{"duplicate index", `- {name: x, type: text}` + "\nindexes:\n  - {name: ix, fields: [x]}\n  - {name: ix, fields: [title]}", []string{`"ix"`, "twice"}},
	{"index named like a field index", `- {name: x, type: text, index: true}` + "\nindexes:\n  - {name: x, fields: [title]}", []string{`"x"`, "twice"}},
	{"index on missing field", `- {name: x, type: text}` + "\nindexes:\n  - {name: ix, fields: [x, nope]}", []string{`"ix"`, `"nope"`}},
	{"index without fields", `- {name: x, type: text}` + "\nindexes:\n  - {name: ix, fields: []}", []string{`"ix"`, "fields"}},
	{"index bad name", `- {name: x, type: text}` + "\nindexes:\n  - {name: Ix, fields: [x]}", []string{`"Ix"`}},
	{"unknown index property", `- {name: x, type: text}` + "\nindexes:\n  - {name: ix, fields: [x], uniq: true}", []string{"uniq"}},
	{"unknown model property", `- {name: x, type: text}` + "\nowner: me", []string{"owner"}},
}

// baseModel is a valid document the bad ones add a line to.
const baseModel = "name: %s\nfields:\n  - {name: id, type: int64}\n  - {name: title, type: string, size: 10}\n  %s\n"

func compile(doc string) (*tenantmap.Model, error) {
	s, err := tenantmap.ParseModelDoc([]byte(doc))
	if err != nil {
		return nil, err
	}
	return tenantmap.NewModel(*s)
}

func TestRuntimeBadDocuments(t *testing.T) {
	if _, err := compile(fmt.Sprintf(baseModel, "base", "- {name: x, type: text}")); err != nil {
		t.Fatalf("the base document is refused: %v", err)
	}
	for _, c := range badModels {
		t.Run(c.name, func(t *testing.T) {
			m, err := compile(fmt.Sprintf(baseModel, "bad", c.doc))
			if !errors.Is(err, tenantmap.ErrInvalidModel) || m != nil {
				t.Fatalf("want ErrInvalidModel, got %v (a model compiled: %v)", err, m != nil)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not say %s: %v", w, err)
				}
			}
		})
	}
	// Problems of the whole document.
	for name, c := range map[string]struct {
		doc  string
		want []string
	}{
		"tenant model":   {"name: tenant\nfields: [{name: id, type: int64}]", []string{`"tenant"`}},
		"upper model":    {"name: Ticket\nfields: [{name: id, type: int64}]", []string{`"Ticket"`}},
		"long model":     {"name: " + strings.Repeat("m", 49) + "\nfields: [{name: id, type: int64}]", []string{strings.Repeat("m", 49)}},
		"no fields":      {"name: empty\nfields: []", []string{"no fields"}},
		"no key":         {"name: nokey\nfields: [{name: code, type: text}]", []string{"key"}},
		"nullable key":   {"name: nk\nfields: [{name: id, type: int64, nullable: true}]", []string{`"id"`, "nullable"}},
		"float key":      {"name: fk\nfields: [{name: id, type: float64}]", []string{`"id"`, "float64"}},
		"bool key":       {"name: bk\nfields: [{name: k, type: bool, key: true}]", []string{`"k"`, "bool"}},
		"key default":    {"name: kd\nfields: [{name: id, type: string, default: x}]", []string{`"id"`, "default"}},
		"key with index": {"name: ki\nfields: [{name: id, type: int64, key: true, index: true}]", []string{`"id"`, "index"}},
		"json unknown":   {`{"name": "j", "fields": [{"name": "id", "type": "int64", "extra": 1}]}`, []string{"extra"}},
		"json wrong":     {`{"name": "j", "fields": [{"name": "id", "type": "int64", "size": "big"}]}`, []string{"size"}},
		"json two docs":  {`{"name": "j", "fields": [{"name": "id", "type": "int64"}]} {}`, []string{"JSON"}},
		"json broken":    {`{"name": "j", "fields": [`, []string{"JSON"}},
		"yaml broken":    {"name: [j\nfields: x", []string{"YAML"}},
		"empty":          {"", nil},
	} {
		t.Run(name, func(t *testing.T) {
			m, err := compile(c.doc)
			if !errors.Is(err, tenantmap.ErrInvalidModel) || m != nil {
				t.Fatalf("want ErrInvalidModel, got %v (a model compiled: %v)", err, m != nil)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not say %s: %v", w, err)
				}
			}
		})
	}
	// Every problem is reported at once.
	_, err := compile("name: many\nfields:\n  - {name: id, type: int64}\n  - {name: Bad, type: text}\n  - {name: n, type: nope}\n  - {name: s, type: int32, size: 3}\nindexes:\n  - {name: ix, fields: [ghost]}")
	for _, w := range []string{`"Bad"`, `"nope"`, `"s"`, `"ghost"`} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("joined error does not say %s: %v", w, err)
		}
	}
}

// Models that cannot be compiled or registered leave nothing behind: no
// binding, no table when a tenant is created, and the models that did
// register work.
func TestRuntimeBadModelsCreateNothing(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		db := b.open(t)
		good, err := tenantmap.RegisterModel(db, mustModel(t, ticketYAML), b.strategy("{tenant}_ticket"))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := db.Tenants().List(context.Background(), tenantmap.ListOptions{}); err != nil {
			t.Fatal(err) // makes the catalog
		}
		before := physicalTables(t, db)
		for i, c := range badModels {
			m, err := compile(fmt.Sprintf(baseModel, fmt.Sprint("bad", i), c.doc))
			if err == nil {
				t.Errorf("%s: compiled", c.name) // and is not registered: TestRuntimeBadDocuments says why
				continue
			}
			if _, err := tenantmap.RegisterModel(db, m, b.strategy(fmt.Sprintf("{tenant}_bad%d", i))); !errors.Is(err, tenantmap.ErrInvalidModel) {
				t.Errorf("%s: RegisterModel of a nil model: want ErrInvalidModel, got %v", c.name, err)
			}
		}
		// Valid models that cannot be registered.
		structs, err := tenantmap.Register[Device](db, b.strategy("{tenant}_device"))
		if err != nil {
			t.Fatal(err)
		}
		for name, reg := range map[string]func() error{
			"template without token": func() error {
				_, err := tenantmap.RegisterModel(db, mustModel(t, strings.Replace(ticketYAML, "name: ticket", "name: badtpl", 1)), tenantmap.TablePerTenant("badtpl"))
				return err
			},
			"template with two tokens": func() error {
				_, err := tenantmap.RegisterModel(db, mustModel(t, strings.Replace(ticketYAML, "name: ticket", "name: badtwo", 1)), tenantmap.TablePerTenant("{tenant}_{tenant}_badtwo"))
				return err
			},
			"catalog table": func() error {
				_, err := tenantmap.RegisterModel(db, mustModel(t, strings.Replace(ticketYAML, "name: ticket", "name: badcat", 1)), tenantmap.SharedTable(tenantmap.CatalogTable))
				return err
			},
			"no strategy": func() error {
				_, err := tenantmap.RegisterModel(db, mustModel(t, strings.Replace(ticketYAML, "name: ticket", "name: badnone", 1)), tenantmap.Strategy{})
				return err
			},
			"name taken": func() error {
				_, err := tenantmap.RegisterModel(db, mustModel(t, "name: ticket\nfields: [{name: id, type: int64}, {name: badcol, type: text}]"), b.strategy("{tenant}_badtaken"))
				return err
			},
			"name of a struct model": func() error {
				_, err := tenantmap.RegisterModel(db, mustModel(t, "name: device\nfields: [{name: id, type: int64}, {name: badcol, type: text}]"), b.strategy("{tenant}_baddev"))
				return err
			},
			"struct model": func() error {
				_, err := tenantmap.RegisterModel(db, structs.Model(), b.strategy("{tenant}_baddevice"))
				return err
			},
		} {
			if err := reg(); !errors.Is(err, tenantmap.ErrInvalidModel) {
				t.Errorf("%s: want ErrInvalidModel, got %v", name, err)
			}
		}
		if after := physicalTables(t, db); !slices.Equal(before, after) {
			t.Errorf("refused registrations changed the tables:\nbefore %v\nafter  %v", before, after)
		}
		mustCreate(t, db, "acme")
		after := physicalTables(t, db)
		var added []string
		for _, tbl := range after {
			if !slices.Contains(before, tbl) {
				added = append(added, tbl)
			}
			if strings.Contains(tbl, "bad") {
				t.Errorf("a refused model has a table: %s", tbl)
			}
		}
		// The tenant's tables: ticket and device, in the database's own
		// catalog unless the tenant has a database of its own.
		if want := 2; isOwnDB(b) {
			if len(added) != 0 {
				t.Errorf("tables added to the main database: %v", added)
			}
		} else if len(added) != want || !slices.ContainsFunc(added, func(s string) bool { return strings.Contains(s, "ticket") }) ||
			!slices.ContainsFunc(added, func(s string) bool { return strings.Contains(s, "device") }) {
			t.Errorf("Create added %v, want the tables of ticket and device", added)
		}
		r := tenantmap.NewRecord(map[string]any{"title": "still works", "ref": "1"})
		if err := good.Insert(tctx("acme"), r); err != nil {
			t.Fatal(err)
		}
		if got, err := good.Get(tctx("acme"), r.Get("id")); err != nil || got.String("title") != "still works" {
			t.Errorf("the good model after the refusals: %v %v", got, err)
		}
	})
}

func TestRuntimeParseModelDoc(t *testing.T) {
	fromYAML, err := tenantmap.ParseModelDoc([]byte(ticketYAML))
	if err != nil {
		t.Fatal(err)
	}
	fromJSON, err := tenantmap.ParseModelDoc([]byte(ticketJSON))
	if err != nil {
		t.Fatal(err)
	}
	if fromYAML.Name != "ticket" || len(fromYAML.Fields) != 20 || len(fromYAML.Indexes) != 1 {
		t.Fatalf("YAML read as %+v", fromYAML)
	}
	for i := range fromYAML.Fields {
		y, j := fromYAML.Fields[i], fromJSON.Fields[i]
		if !reflect.DeepEqual(y, j) {
			t.Errorf("field %d: YAML %#v, JSON %#v", i, y, j)
		}
	}
	if !reflect.DeepEqual(fromYAML, fromJSON) {
		t.Errorf("YAML and JSON differ:\n%#v\n%#v", fromYAML, fromJSON)
	}
	// White space before the { still means JSON.
	if s, err := tenantmap.ParseModelDoc([]byte("\n\t " + ticketJSON)); err != nil || !reflect.DeepEqual(s, fromJSON) {
		t.Errorf("JSON after white space: %v", err)
	}
	// A model gives its document back, key and all.
	m, err := tenantmap.NewModel(*fromYAML)
	if err != nil {
		t.Fatal(err)
	}
	if s := m.Doc(); !reflect.DeepEqual(&s, fromYAML) {
		t.Errorf("Doc() differs from the document:\n%#v\n%#v", s, *fromYAML)
	}
	var names []string
	for _, fd := range fromYAML.Fields {
		names = append(names, fd.Name)
	}
	if cols := m.Columns(); m.Name() != "ticket" || m.Key() != "id" || !slices.Equal(slices.Sorted(slices.Values(cols)), slices.Sorted(slices.Values(names))) || cols[0] != "id" {
		t.Errorf("model %s key %s columns %v, want the fields %v key first", m.Name(), m.Key(), cols, names)
	}
	// The document NewModel was given is not shared with the model.
	fromYAML.Fields[1].Name = "changed"
	if s := m.Doc(); s.Fields[1].Name != "title" {
		t.Errorf("the model's document changed with the caller's: %q", s.Fields[1].Name)
	}
	s := m.Doc()
	s.Fields[2].Name = "changed"
	if m.Doc().Fields[2].Name != "body" {
		t.Error("Doc() returned the model's own slice")
	}
	// A model compiled from the document Schema returns is the same model.
	m2, err := tenantmap.NewModel(m.Doc())
	if err != nil || !slices.Equal(m2.Columns(), m.Columns()) {
		t.Errorf("recompiling Doc(): %v", err)
	}
	// The key named by key: true, not first in the document, comes first.
	note := mustModel(t, noteYAML)
	if note.Key() != "code" || note.Columns()[0] != "code" {
		t.Errorf("note: key %s, columns %v", note.Key(), note.Columns())
	}
}

func TestRuntimeModelSchemaJSON(t *testing.T) {
	var doc struct {
		Properties map[string]json.RawMessage `json:"properties"`
		Required   []string                   `json:"required"`
		Defs       map[string]struct {
			Pattern    string                     `json:"pattern"`
			Properties map[string]json.RawMessage `json:"properties"`
			Required   []string                   `json:"required"`
			Not        struct {
				AnyOf []struct {
					Const   string `json:"const"`
					Pattern string `json:"pattern"`
				} `json:"anyOf"`
			} `json:"not"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(tenantmap.ModelSchemaJSON, &doc); err != nil {
		t.Fatalf("ModelSchemaJSON is not JSON: %v", err)
	}
	field := doc.Defs["field"]
	var typ struct {
		Enum []string `json:"enum"`
	}
	if err := json.Unmarshal(field.Properties["type"], &typ); err != nil {
		t.Fatal(err)
	}
	if got, want := slices.Sorted(slices.Values(typ.Enum)), tenantmap.FieldTypes(); !slices.Equal(got, want) {
		t.Errorf("type enum %v, FieldTypes %v", typ.Enum, want)
	}
	if ft := tenantmap.FieldTypes(); !slices.IsSorted(ft) {
		t.Errorf("FieldTypes not sorted: %v", ft)
	}
	// Every type the schema names compiles.
	for _, ty := range typ.Enum {
		if _, err := tenantmap.NewModel(tenantmap.ModelDoc{Name: "t", Fields: []tenantmap.FieldDef{{Name: "id", Type: "int64"}, {Name: "x", Type: ty}}}); err != nil {
			t.Errorf("type %s: %v", ty, err)
		}
	}

	// The schema's properties are the Go types' JSON names.
	jsonNames := func(v any) []string {
		var out []string
		rt := reflect.TypeOf(v)
		for i := range rt.NumField() {
			name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
			out = append(out, name)
		}
		return slices.Sorted(slices.Values(out))
	}
	keys := func(m map[string]json.RawMessage) []string {
		var out []string
		for k := range m {
			out = append(out, k)
		}
		return slices.Sorted(slices.Values(out))
	}
	for name, c := range map[string]struct {
		props map[string]json.RawMessage
		typ   any
	}{
		"model": {doc.Properties, tenantmap.ModelDoc{}},
		"field": {field.Properties, tenantmap.FieldDef{}},
		"index": {doc.Defs["index"].Properties, tenantmap.IndexDef{}},
	} {
		if got, want := keys(c.props), jsonNames(c.typ); !slices.Equal(got, want) {
			t.Errorf("%s properties %v, Go fields %v", name, got, want)
		}
	}

	// The name patterns agree with NewModel.
	modelName := regexp.MustCompile(doc.Defs["name"].Pattern)
	column := regexp.MustCompile(doc.Defs["column"].Pattern)
	var reserved []*regexp.Regexp
	for _, a := range doc.Defs["column"].Not.AnyOf {
		if a.Const != "" {
			reserved = append(reserved, regexp.MustCompile("^"+regexp.QuoteMeta(a.Const)+"$"))
		} else {
			reserved = append(reserved, regexp.MustCompile(a.Pattern))
		}
	}
	for _, n := range []string{"ticket", "_t", "t2", "Ticket", "2t", "a b", "x;drop", "é", "", strings.Repeat("a", 48), strings.Repeat("a", 49),
		strings.Repeat("b", 63), strings.Repeat("b", 64), "tenant_id", "tm_custom", "tenantmap_x", "tenantmapx"} {
		_, err := tenantmap.NewModel(tenantmap.ModelDoc{Name: n, Fields: []tenantmap.FieldDef{{Name: "id", Type: "int64"}}})
		if want := modelName.MatchString(n) && n != "tenant"; (err == nil) != want {
			t.Errorf("model name %q: schema allows %v, NewModel: %v", n, want, err)
		}
		_, err = tenantmap.NewModel(tenantmap.ModelDoc{Name: "m", Fields: []tenantmap.FieldDef{{Name: "id", Type: "int64"}, {Name: n, Type: "text"}}})
		want := column.MatchString(n) && n != "id"
		for _, r := range reserved {
			want = want && !r.MatchString(n)
		}
		if (err == nil) != want {
			t.Errorf("field name %q: schema allows %v, NewModel: %v", n, want, err)
		}
	}
	if !slices.Equal(doc.Required, []string{"name", "fields"}) || !slices.Equal(field.Required, []string{"name", "type"}) {
		t.Errorf("required: model %v, field %v", doc.Required, field.Required)
	}

	// So does the size limit.
	var size struct{ Minimum, Maximum int }
	if err := json.Unmarshal(field.Properties["size"], &size); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{size.Minimum, size.Maximum, size.Minimum - 1, size.Maximum + 1} {
		_, err := tenantmap.NewModel(tenantmap.ModelDoc{Name: "m", Fields: []tenantmap.FieldDef{{Name: "id", Type: "int64"}, {Name: "s", Type: "string", Size: n}}})
		if want := n >= size.Minimum && n <= size.Maximum; (err == nil) != want {
			t.Errorf("size %d: schema allows %v, NewModel: %v", n, want, err)
		}
	}
}
