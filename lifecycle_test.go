package tenantmap_test

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tenantmap/tenantmap"
)

// TestSuspendResume: a suspended tenant's every call fails with
// ErrTenantSuspended and nothing else changes; Resume lets them through.
func TestSuspendResume(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		bg := context.Background()
		db := b.open(t)
		notes, err := tenantmap.Register[isoNote](db, b.strategy("{tenant}_note"), tenantmap.ModelName("note"))
		if err != nil {
			t.Fatal(err)
		}
		mustCreate(t, db, "sus", "other")
		ctx := tenantmap.WithTenant(bg, "sus")
		n := &isoNote{Owner: "sus", Body: "kept"}
		if err := notes.Insert(ctx, n); err != nil {
			t.Fatal(err)
		}
		if _, err := notes.Get(ctx, n.ID); err != nil { // cached now
			t.Fatal(err)
		}
		before := physicalTables(t, db)
		if err := db.Tenants().Suspend(bg, "sus"); err != nil {
			t.Fatal(err)
		}
		if err := db.Tenants().Suspend(bg, "sus"); !errors.Is(err, tenantmap.ErrTenantStatus) {
			t.Errorf("suspending twice: %v", err)
		}
		calls := map[string]error{}
		_, calls["get"] = notes.Get(ctx, n.ID)
		calls["insert"] = notes.Insert(ctx, &isoNote{Owner: "sus"})
		_, calls["find"] = notes.Find(ctx, tenantmap.Query{})
		_, calls["exec"] = db.Exec(ctx, "UPDATE {note} SET body = ? WHERE {tenant}", "x")
		calls["tx"] = db.InTx(ctx, func(ctx context.Context) error { return nil })
		for name, err := range calls {
			if !errors.Is(err, tenantmap.ErrTenantSuspended) {
				t.Errorf("%s for a suspended tenant: %v, want ErrTenantSuspended", name, err)
			}
		}
		if _, err := notes.Find(tenantmap.WithTenant(bg, "other"), tenantmap.Query{}); err != nil {
			t.Errorf("another tenant while one is suspended: %v", err)
		}
		tn, err := db.Tenants().Get(bg, "sus")
		if err != nil || tn.Status != tenantmap.StatusSuspended {
			t.Errorf("Get of a suspended tenant: %+v %v", tn, err)
		}
		if after := physicalTables(t, db); !slices.Equal(before, after) {
			t.Errorf("suspending changed the tables: %v → %v", before, after)
		}
		if err := db.Tenants().Resume(bg, "sus"); err != nil {
			t.Fatal(err)
		}
		got, err := notes.Get(ctx, n.ID)
		if err != nil || got.Body != "kept" {
			t.Errorf("after Resume: %+v %v", got, err)
		}
		if err := db.Tenants().Resume(bg, "sus"); !errors.Is(err, tenantmap.ErrTenantStatus) {
			t.Errorf("resuming an active tenant: %v", err)
		}
		if err := db.Tenants().Suspend(bg, "nobody"); !errors.Is(err, tenantmap.ErrTenantNotFound) {
			t.Errorf("suspending a missing tenant: %v", err)
		}
	})
}

// TestDropRetain: a drop with a retention window hides the tenant at
// once, keeps its data and its id until Purge; Restore brings it back
// before that; Purge removes it after, and then the id is free.
func TestDropRetain(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		bg := context.Background()
		db := b.open(t)
		notes, err := tenantmap.Register[isoNote](db, b.strategy("{tenant}_note"), tenantmap.ModelName("note"))
		if err != nil {
			t.Fatal(err)
		}
		mustCreate(t, db, "gone", "stays")
		empty := physicalTables(t, db)
		ctx := tenantmap.WithTenant(bg, "gone")
		if err := notes.Insert(ctx, &isoNote{Owner: "gone", Body: "keep me"}); err != nil {
			t.Fatal(err)
		}
		if err := notes.Insert(tenantmap.WithTenant(bg, "stays"), &isoNote{Owner: "stays", Body: "mine"}); err != nil {
			t.Fatal(err)
		}
		if err := db.Tenants().Drop(bg, "gone", tenantmap.ConfirmDrop("stays"), tenantmap.Retain(time.Hour)); !errors.Is(err, tenantmap.ErrDropNotConfirmed) {
			t.Fatalf("a soft drop confirmed for another id: %v", err)
		}
		if err := db.Tenants().Drop(bg, "gone", tenantmap.ConfirmDrop("gone"), tenantmap.Retain(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, err := notes.Find(ctx, tenantmap.Query{}); !errors.Is(err, tenantmap.ErrTenantNotFound) {
			t.Errorf("a call for a dropped tenant: %v", err)
		}
		if _, err := db.Tenants().Create(bg, "gone"); !errors.Is(err, tenantmap.ErrTenantExists) {
			t.Errorf("re-creating a tenant within its retention: %v", err)
		}
		tn, err := db.Tenants().Get(bg, "gone")
		if err != nil || tn.Status != tenantmap.StatusDropped || tn.PurgeAfter.Before(time.Now().Add(50*time.Minute)) {
			t.Errorf("Get of a dropped tenant: %+v %v", tn, err)
		}
		dropped, _, err := db.Tenants().List(bg, tenantmap.ListOptions{Status: tenantmap.StatusDropped})
		if err != nil || len(dropped) != 1 || dropped[0].ID != "gone" {
			t.Errorf("List of dropped tenants: %+v %v", dropped, err)
		}
		// Nothing to purge yet.
		if purged, err := db.Tenants().Purge(bg, time.Now()); err != nil || len(purged) != 0 {
			t.Errorf("Purge before the retention ended: %v %v", purged, err)
		}
		if err := db.Tenants().Restore(bg, "gone"); err != nil {
			t.Fatal(err)
		}
		got, err := notes.Find(ctx, tenantmap.Query{})
		if err != nil || len(got) != 1 || got[0].Body != "keep me" {
			t.Errorf("after Restore: %+v %v", got, err)
		}
		if err := db.Tenants().Restore(bg, "gone"); !errors.Is(err, tenantmap.ErrTenantStatus) {
			t.Errorf("restoring an active tenant: %v", err)
		}
		// Dropped again, and purged once the window has passed.
		if err := db.Tenants().Drop(bg, "gone", tenantmap.ConfirmDrop("gone"), tenantmap.Retain(time.Hour)); err != nil {
			t.Fatal(err)
		}
		purged, err := db.Tenants().Purge(bg, time.Now().Add(2*time.Hour))
		if err != nil || !slices.Equal(purged, []string{"gone"}) {
			t.Fatalf("Purge after the retention: %v %v", purged, err)
		}
		if _, err := db.Tenants().Get(bg, "gone"); !errors.Is(err, tenantmap.ErrTenantNotFound) {
			t.Errorf("a purged tenant: %v", err)
		}
		tables := physicalTables(t, db)
		for _, tb := range tables {
			if strings.Contains(tb, "gone_") || strings.HasSuffix(tb, ".gone") {
				t.Errorf("a purged tenant's table is left: %s", tb)
			}
		}
		if isOwnDB(b) {
			if ownDatabaseExists(t, db, "gone") {
				t.Error("a purged tenant's database is left")
			}
		}
		_ = empty
		// Its rows in a shared table are gone; the other tenant's stay.
		mustCreate(t, db, "gone")
		if got, err := notes.Find(ctx, tenantmap.Query{}); err != nil || len(got) != 0 {
			t.Errorf("the re-created tenant sees %+v %v", got, err)
		}
		if got, err := notes.Find(tenantmap.WithTenant(bg, "stays"), tenantmap.Query{}); err != nil || len(got) != 1 {
			t.Errorf("the other tenant after a purge: %+v %v", got, err)
		}
		// A soft-dropped tenant dropped without Retain goes at once.
		if err := db.Tenants().Drop(bg, "gone", tenantmap.ConfirmDrop("gone"), tenantmap.Retain(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := db.Tenants().Drop(bg, "gone", tenantmap.ConfirmDrop("gone")); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Tenants().Get(bg, "gone"); !errors.Is(err, tenantmap.ErrTenantNotFound) {
			t.Errorf("after dropping a soft-dropped tenant: %v", err)
		}
	})
}

// xfRecord has a column of every kind, for export and import.
type xfRecord struct {
	ID    int64
	Title string `tm:",size:100,index"`
	Done  bool
	Score float64
	Count int32
	Small int16
	When  time.Time
	Maybe *time.Time
	Blob  []byte
	Meta  map[string]any
	Tags  []string
	Note  *string
}

// xfKeyed has a key set by the caller.
type xfKeyed struct {
	Code  string `tm:",pk,size:20"`
	Value int64
}

func xfRegister(t *testing.T, db *tenantmap.DB, b backend) (*tenantmap.Table[xfRecord], *tenantmap.Table[xfKeyed]) {
	t.Helper()
	recs, err := tenantmap.Register[xfRecord](db, b.strategy("{tenant}_rec"), tenantmap.ModelName("rec"))
	if err != nil {
		t.Fatal(err)
	}
	keyed, err := tenantmap.Register[xfKeyed](db, b.strategy("{tenant}_keyed"), tenantmap.ModelName("keyed"))
	if err != nil {
		t.Fatal(err)
	}
	return recs, keyed
}

func xfSeed(t *testing.T, recs *tenantmap.Table[xfRecord], keyed *tenantmap.Table[xfKeyed], id string) {
	t.Helper()
	ctx := tenantmap.WithTenant(context.Background(), id)
	when := time.Date(2026, 11, 30, 12, 34, 56, 789000000, time.UTC)
	note := "a \"quoted\" note\nwith a newline, ünïcödé"
	rows := []*xfRecord{
		{Title: "first of " + id, Done: true, Score: 2.5, Count: 7, Small: -3, When: when, Maybe: &when, Blob: []byte{0, 1, 2, 255},
			Meta: map[string]any{"a": 1.0, "b": []any{"x", true}}, Tags: []string{"red", "blue"}, Note: &note},
		{Title: "second", When: when.Add(time.Hour), Blob: []byte{}},
	}
	for range 3 {
		rows = append(rows, &xfRecord{Title: "more", When: when})
	}
	if err := recs.InsertMany(ctx, rows); err != nil {
		t.Fatal(err)
	}
	for _, k := range []*xfKeyed{{Code: "a-1", Value: 1}, {Code: "b-2", Value: 1 << 60}} {
		if err := keyed.Insert(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
}

// xfRows reads a tenant's rows of both models, in key order.
func xfRows(t *testing.T, recs *tenantmap.Table[xfRecord], keyed *tenantmap.Table[xfKeyed], id string) ([]xfRecord, []xfKeyed) {
	t.Helper()
	ctx := tenantmap.WithTenant(context.Background(), id)
	r, err := recs.Find(ctx, tenantmap.OrderBy("id"))
	if err != nil {
		t.Fatal(err)
	}
	k, err := keyed.Find(ctx, tenantmap.OrderBy("code"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range r {
		r[i].When = r[i].When.UTC()
		if r[i].Maybe != nil {
			m := r[i].Maybe.UTC()
			r[i].Maybe = &m
		}
	}
	return r, k
}

// sameRecords compares rows ignoring keys where they were renewed.
func sameRecords(t *testing.T, what string, a, b []xfRecord, keysKept bool) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%s: %d rows, want %d", what, len(b), len(a))
	}
	for i := range a {
		x, y := a[i], b[i]
		if !keysKept {
			x.ID, y.ID = 0, 0
		}
		if !reflect.DeepEqual(x, y) {
			t.Errorf("%s: row %d\n got %+v\nwant %+v", what, i, y, x)
		}
	}
}

// keysRenewed: in a shared table whose generated keys are unique across
// the table (SQLite, MySQL), imported rows get new keys.
func keysRenewed(b backend) bool { return b.name == "sqlite/shared" || b.name == "mysql/shared" }

// TestExportImportClone: a tenant's export, imported into a new tenant,
// and a clone, hold the same rows, keys kept; new rows get new keys
// after them; the source is untouched.
func TestExportImportClone(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		bg := context.Background()
		db := b.open(t)
		recs, keyed := xfRegister(t, db, b)
		mustCreate(t, db, "src")
		xfSeed(t, recs, keyed, "src")
		wantR, wantK := xfRows(t, recs, keyed, "src")

		var buf bytes.Buffer
		st, err := db.Tenants().Export(bg, "src", &buf)
		if err != nil {
			t.Fatal(err)
		}
		if st.Models != 2 || st.Rows != 7 {
			t.Errorf("export stats %+v", st)
		}
		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		if len(lines) != 1+2*2+7+1 {
			t.Errorf("export has %d lines:\n%s", len(lines), buf.String())
		}
		st, err = db.Tenants().Import(bg, "imported", bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		if st.Rows != 7 {
			t.Errorf("import stats %+v", st)
		}
		if _, err := db.Tenants().Clone(bg, "src", "cloned"); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"imported", "cloned"} {
			gotR, gotK := xfRows(t, recs, keyed, id)
			sameRecords(t, id, wantR, gotR, !keysRenewed(b))
			if !reflect.DeepEqual(gotK, wantK) {
				t.Errorf("%s keyed rows: %+v, want %+v", id, gotK, wantK)
			}
			// A new row gets a key after the imported ones.
			n := &xfRecord{Title: "after", When: time.Now().UTC().Truncate(time.Millisecond)}
			if err := recs.Insert(tenantmap.WithTenant(bg, id), n); err != nil {
				t.Fatalf("%s: insert after import: %v", id, err)
			}
			if !keysRenewed(b) && n.ID <= wantR[len(wantR)-1].ID {
				t.Errorf("%s: a new row's key %d is not after the imported keys", id, n.ID)
			}
		}
		gotR, gotK := xfRows(t, recs, keyed, "src")
		sameRecords(t, "the source", wantR, gotR, true)
		if !reflect.DeepEqual(gotK, wantK) {
			t.Errorf("the source's keyed rows changed")
		}
	})
}

// TestImportBadFile: a truncated, damaged or mismatched export is
// ErrInvalidExport and leaves no tenant and no table behind.
func TestImportBadFile(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		bg := context.Background()
		db := b.open(t)
		recs, keyed := xfRegister(t, db, b)
		mustCreate(t, db, "src")
		xfSeed(t, recs, keyed, "src")
		var buf bytes.Buffer
		if _, err := db.Tenants().Export(bg, "src", &buf); err != nil {
			t.Fatal(err)
		}
		good := buf.String()
		lines := strings.SplitAfter(good, "\n")
		before := physicalTables(t, db)
		cases := map[string]string{
			"empty":          "",
			"not an export":  "hello\n",
			"truncated":      strings.Join(lines[:len(lines)-3], ""),
			"no last line":   strings.Join(lines[:len(lines)-2], ""),
			"damaged row":    strings.Replace(good, `"more"`, `"more`, 1),
			"wrong count":    strings.Replace(good, `{"end":true,"rows":7}`, `{"end":true,"rows":8}`, 1),
			"unknown model":  strings.Replace(good, `{"model":"keyed"`, `{"model":"nope"`, 1),
			"other version":  strings.Replace(good, `"schema_version":0`, `"schema_version":5`, 1),
			"bad time":       strings.Replace(good, `"2026-11-30T13:34:56.789Z"`, `"yesterday"`, 1),
			"null in a key":  strings.Replace(good, `["a-1",1]`, `[null,1]`, 1),
			"unknown column": strings.Replace(good, `{"name":"value","kind":"int64"}`, `{"name":"valu","kind":"int64"}`, 1),
		}
		for name, file := range cases {
			if file == good {
				t.Fatalf("%s: the damage did not apply", name)
			}
			_, err := db.Tenants().Import(bg, "dst", strings.NewReader(file))
			if !errors.Is(err, tenantmap.ErrInvalidExport) {
				t.Errorf("%s: %v, want ErrInvalidExport", name, err)
			}
			if _, err := db.Tenants().Get(bg, "dst"); !errors.Is(err, tenantmap.ErrTenantNotFound) {
				t.Errorf("%s: the tenant is left: %v", name, err)
			}
		}
		if after := physicalTables(t, db); !slices.Equal(before, after) {
			t.Errorf("failed imports left tables: %v → %v", before, after)
		}
		if _, err := db.Tenants().Clone(bg, "nobody", "dst"); !errors.Is(err, tenantmap.ErrTenantNotFound) {
			t.Errorf("cloning a missing tenant: %v", err)
		}
		if _, err := db.Tenants().Clone(bg, "src", "src"); !errors.Is(err, tenantmap.ErrTenantExists) {
			t.Errorf("cloning onto an existing tenant: %v", err)
		}
	})
}

// TestImportAcrossDatabases: an export from one database imports into the
// others (SQLite → PostgreSQL → MariaDB → SQLite), with the same rows.
func TestImportAcrossDatabases(t *testing.T) {
	bg := context.Background()
	var chain []backend
	for _, name := range []string{"sqlite/table", "postgres/table", "mysql/table", "sqlite/shared"} {
		chain = append(chain, backendNamed(t, name))
	}
	var dbs []*tenantmap.DB
	var tables [][2]any
	for _, b := range chain {
		db := b.open(t)
		recs, keyed := xfRegister(t, db, b)
		dbs = append(dbs, db)
		tables = append(tables, [2]any{recs, keyed})
	}
	recs0, keyed0 := tables[0][0].(*tenantmap.Table[xfRecord]), tables[0][1].(*tenantmap.Table[xfKeyed])
	mustCreate(t, dbs[0], "traveller")
	xfSeed(t, recs0, keyed0, "traveller")
	wantR, wantK := xfRows(t, recs0, keyed0, "traveller")
	for i := 1; i < len(chain); i++ {
		var buf bytes.Buffer
		if _, err := dbs[i-1].Tenants().Export(bg, "traveller", &buf); err != nil {
			t.Fatalf("export from %s: %v", chain[i-1].name, err)
		}
		if _, err := dbs[i].Tenants().Import(bg, "traveller", &buf); err != nil {
			t.Fatalf("import into %s: %v", chain[i].name, err)
		}
		recs, keyed := tables[i][0].(*tenantmap.Table[xfRecord]), tables[i][1].(*tenantmap.Table[xfKeyed])
		gotR, gotK := xfRows(t, recs, keyed, "traveller")
		sameRecords(t, chain[i].name, wantR, gotR, !keysRenewed(chain[i]))
		if !reflect.DeepEqual(gotK, wantK) {
			t.Errorf("%s keyed rows: %+v, want %+v", chain[i].name, gotK, wantK)
		}
	}
}

func backendNamed(t *testing.T, name string) backend {
	t.Helper()
	for _, b := range backends {
		if b.name == name {
			return b
		}
	}
	t.Fatalf("no backend %s", name)
	return backend{}
}
