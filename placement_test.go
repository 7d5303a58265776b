package tenantmap_test

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenantmap/tenantmap"
)

// The placement tests run one application — two models whose default is
// SharedTable — with tenants placed every way a database offers: most in the
// shared tables, one in tables of its own (TablePerTenant), and one in a
// schema (PostgreSQL) or database (MariaDB) of its own. Every call, raw
// statement and lifecycle operation must keep each tenant to its own rows,
// wherever they are.

// plComment is the placement tests' second model, for joins. Its key is set
// by the caller, so every tenant can hold the same keys: in a shared table
// only the tenant column tells them apart.
type plComment struct {
	Code   string `tm:",pk,size:40"`
	NoteID int64  `tm:",index"`
	Owner  string
	Text   string
}

// plDialect is one database the placement tests run on and the tenant it
// places in a namespace of its own, if it has namespaces.
type plDialect struct {
	name string
	open func(testing.TB) *tenantmap.DB
	// nsID is the tenant placed by nsStrategy in nsName, a schema or a
	// database of its own (nsKind, as the catalog names the strategy); ""
	// where the dialect has neither (SQLite, until DatabasePerTenant comes
	// to it).
	nsID, nsName, nsKind string
	nsStrategy           tenantmap.Strategy
}

var plDialects = []plDialect{
	{name: "sqlite", open: sqliteOpen},
	{name: "postgres", open: postgresOpen, nsID: "sch", nsName: "sch", nsKind: "schema", nsStrategy: tenantmap.SchemaPerTenant("")},
	// mysqlOpenDatabases drops the databases under mysqlDBPrefix when the
	// test ends; no other subtest of these tests makes any.
	{name: "mysql", open: mysqlOpenDatabases, nsID: "isodb", nsName: mysqlDBPrefix + "isodb", nsKind: "database", nsStrategy: tenantmap.DatabasePerTenant(mysqlDBPrefix + "{tenant}")},
}

// plTenant is one tenant of the fixture and where it was placed.
type plTenant struct {
	id   string
	kind string // the catalog's name for its strategy: shared, table, schema or database
	ns   string // its schema or database, for kinds schema and database
}

// plLedger is what a tenant's tables must hold.
type plLedger struct {
	notes    map[int64]isoNote
	comments map[string]plComment
}

func newPLLedger() *plLedger {
	return &plLedger{notes: map[int64]isoNote{}, comments: map[string]plComment{}}
}

type plFixture struct {
	d        plDialect
	db       *tenantmap.DB
	notes    *tenantmap.Table[isoNote]
	comments *tenantmap.Table[plComment]
	home     string // the schema physicalTables names the DB's own tables with
	catalog  string // the schema the catalog and shared tables are recorded in ("" without schemas)
	tenants  []plTenant
	ledgers  map[string]*plLedger // by tenant; only tenants that exist
}

// The fixture's tenants: quiet is never written to; s3 asks for the shared
// table explicitly; own has tables of its own.
const (
	plQuiet = "quiet"
	plOwn   = "own"
)

var plShared = []string{"s1", "s2", "s3"}

// plCatalogCtx is the context of the raw statements that read the catalog
// and the servers' system tables: they name no model, so any existing
// tenant will do, and s1 is never dropped.
func plCatalogCtx() context.Context { return tctx("s1") }

// plSetup opens a database of the dialect, registers the models with
// SharedTable as their default, and creates the tenants.
func plSetup(t *testing.T, d plDialect) *plFixture {
	t.Helper()
	db := d.open(t)
	notes, err := tenantmap.Register[isoNote](db, tenantmap.SharedTable(""), tenantmap.ModelName("note"))
	if err != nil {
		t.Fatal(err)
	}
	comments, err := tenantmap.Register[plComment](db, tenantmap.SharedTable(""), tenantmap.ModelName("comment"))
	if err != nil {
		t.Fatal(err)
	}
	f := &plFixture{d: d, db: db, notes: notes, comments: comments, ledgers: map[string]*plLedger{}}
	f.create(t, plTenant{id: plQuiet, kind: "shared"}, nil)
	f.create(t, plTenant{id: "s1", kind: "shared"}, nil)
	// TablePerTenant("") is "{tenant}_" + the model's name: own_note and
	// own_comment. (A template without the model's name, "{tenant}_note",
	// would give both models one table; TestPlacementNameConflict.)
	f.create(t, plTenant{id: plOwn, kind: "table"}, tenantmap.WithPlacement(tenantmap.TablePerTenant("")))
	f.create(t, plTenant{id: "s2", kind: "shared"}, nil)
	if d.nsID != "" {
		f.create(t, plTenant{id: d.nsID, kind: d.nsKind, ns: d.nsName}, tenantmap.WithPlacement(d.nsStrategy))
	}
	f.create(t, plTenant{id: "s3", kind: "shared"}, tenantmap.WithPlacement(tenantmap.SharedTable("")))
	switch db.Dialect().Name() {
	case "postgres":
		f.home, f.catalog = "public", "public"
	case "mysql":
		if err := db.QueryRow(plCatalogCtx(), "SELECT DATABASE()").Scan(&f.home); err != nil {
			t.Fatal(err)
		}
	default:
		f.home = "main"
	}
	return f
}

// create creates a tenant and records it in the fixture.
func (f *plFixture) create(t *testing.T, pt plTenant, opt tenantmap.CreateOption) {
	t.Helper()
	var opts []tenantmap.CreateOption
	if opt != nil {
		opts = append(opts, opt)
	}
	if _, err := f.db.Tenants().Create(context.Background(), pt.id, opts...); err != nil {
		t.Fatalf("create %s (%s): %v", pt.id, pt.kind, err)
	}
	f.tenants = slices.DeleteFunc(f.tenants, func(o plTenant) bool { return o.id == pt.id })
	f.tenants = append(f.tenants, pt)
	f.ledgers[pt.id] = newPLLedger()
}

// drop drops a tenant and forgets it.
func (f *plFixture) drop(t *testing.T, id string) {
	t.Helper()
	if err := f.db.Tenants().Drop(context.Background(), id, tenantmap.ConfirmDrop(id)); err != nil {
		t.Fatalf("drop %s: %v", id, err)
	}
	f.tenants = slices.DeleteFunc(f.tenants, func(o plTenant) bool { return o.id == id })
	delete(f.ledgers, id)
}

func (f *plFixture) tenant(id string) plTenant {
	i := slices.IndexFunc(f.tenants, func(o plTenant) bool { return o.id == id })
	return f.tenants[i]
}

// ids returns the fixture's tenants, in creation order.
func (f *plFixture) ids() []string {
	out := make([]string, len(f.tenants))
	for i, pt := range f.tenants {
		out[i] = pt.id
	}
	return out
}

// wantTables is what physicalTables must list: the catalog, each shared
// table once, and the tables of each tenant placed apart; nothing for a
// tenant in the shared tables.
func (f *plFixture) wantTables() []string {
	h := f.home + "."
	out := []string{h + tenantmap.CatalogTable, h + tenantmap.ObjectTable, h + tenantmap.PlacementTable, h + tenantmap.ChangeTable, h + "note", h + "comment"}
	for _, pt := range f.tenants {
		switch pt.kind {
		case "table":
			out = append(out, h+pt.id+"_note", h+pt.id+"_comment")
		case "schema", "database":
			out = append(out, pt.ns+".note", pt.ns+".comment")
		}
	}
	slices.Sort(out)
	return out
}

func (f *plFixture) checkTables(t *testing.T) {
	t.Helper()
	got := physicalTables(t, f.db)
	slices.Sort(got)
	if want := f.wantTables(); !slices.Equal(got, want) {
		t.Errorf("tables:\n%s\nwant:\n%s", joinLines(got), joinLines(want))
	}
}

// seed writes rows for every tenant but quiet, round robin, so that the
// shared tables interleave the tenants' rows: five notes (two by Insert,
// three by InsertMany) whose bodies begin with the tenant's id, and four
// comments, three of them with keys every tenant uses.
func (f *plFixture) seed(t *testing.T) {
	t.Helper()
	var ids []string
	for _, id := range f.ids() {
		if id != plQuiet {
			ids = append(ids, id)
		}
	}
	firstNote := map[string]int64{}
	for round := range 2 {
		for i, id := range ids {
			n := &isoNote{Owner: id, Body: fmt.Sprintf("%s-b%d", id, round)}
			tbl := f.notes
			ctx := tctx(id)
			if i%2 == 1 { // half name the tenant with For
				tbl, ctx = f.notes.For(id), context.Background()
			}
			if err := tbl.Insert(ctx, n); err != nil {
				t.Fatalf("insert note for %s: %v", id, err)
			}
			if n.ID <= 0 {
				t.Fatalf("insert note for %s: key %d", id, n.ID)
			}
			f.ledgers[id].notes[n.ID] = *n
			if round == 0 {
				firstNote[id] = n.ID
			}
		}
	}
	for _, id := range ids {
		batch := []*isoNote{{Owner: id, Body: id + "-b2"}, {Owner: id, Body: id + "-b3"}, {Owner: id, Body: id + "-b4"}}
		if err := f.notes.InsertMany(tctx(id), batch); err != nil {
			t.Fatalf("insert many notes for %s: %v", id, err)
		}
		for _, n := range batch {
			if _, dup := f.ledgers[id].notes[n.ID]; dup || n.ID <= 0 {
				t.Fatalf("insert many notes for %s: key %d is zero or taken", id, n.ID)
			}
			f.ledgers[id].notes[n.ID] = *n
		}
	}
	for _, id := range ids {
		c := &plComment{Code: "k1", NoteID: firstNote[id], Owner: id, Text: id + "/k1"}
		if err := f.comments.Insert(tctx(id), c); err != nil {
			t.Fatalf("insert comment for %s: %v", id, err)
		}
		f.ledgers[id].comments[c.Code] = *c
	}
	for _, id := range ids {
		batch := []*plComment{
			{Code: "k2", NoteID: firstNote[id], Owner: id, Text: id + "/k2"},
			{Code: "k3", NoteID: firstNote[id], Owner: id, Text: id + "/k3"},
			{Code: "only-" + id, NoteID: firstNote[id], Owner: id, Text: id + "/only"},
		}
		if err := f.comments.InsertMany(tctx(id), batch); err != nil {
			t.Fatalf("insert many comments for %s: %v", id, err)
		}
		for _, c := range batch {
			f.ledgers[id].comments[c.Code] = *c
		}
	}
}

// check compares what a tenant's calls see with its ledger: exactly its
// rows, each as written.
func (f *plFixture) check(t *testing.T, id string) {
	t.Helper()
	l := f.ledgers[id]
	notes, err := f.notes.Find(tctx(id), tenantmap.OrderBy("id"))
	if err != nil {
		t.Errorf("%s: find notes: %v", id, err)
		return
	}
	wantNotes := slices.SortedFunc(maps.Values(l.notes), func(a, b isoNote) int { return cmp.Compare(a.ID, b.ID) })
	if !slices.Equal(notes, wantNotes) {
		t.Errorf("%s sees notes\n%+v\nwant\n%+v", id, notes, wantNotes)
	}
	comments, err := f.comments.Find(tctx(id), tenantmap.Query{})
	if err != nil {
		t.Errorf("%s: find comments: %v", id, err)
		return
	}
	slices.SortFunc(comments, func(a, b plComment) int { return strings.Compare(a.Code, b.Code) })
	wantComments := slices.SortedFunc(maps.Values(l.comments), func(a, b plComment) int { return strings.Compare(a.Code, b.Code) })
	if !slices.Equal(comments, wantComments) {
		t.Errorf("%s sees comments\n%+v\nwant\n%+v", id, comments, wantComments)
	}
}

func (f *plFixture) checkAll(t *testing.T) {
	t.Helper()
	for _, id := range f.ids() {
		f.check(t, id)
	}
}

// plEach runs fn on a fresh fixture of every dialect, in parallel.
func plEach(t *testing.T, fn func(t *testing.T, f *plFixture)) {
	t.Helper()
	for _, d := range plDialects {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			fn(t, plSetup(t, d))
		})
	}
}

// plStrings runs a raw statement that names no model (for any tenant ctx
// names) and returns its rows sorted, each row's ncols text columns joined by "|".
func plStrings(t *testing.T, db *tenantmap.DB, ctx context.Context, ncols int, query string, args ...any) []string {
	t.Helper()
	rows, err := db.Query(ctx, query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		cols := make([]string, ncols)
		dest := make([]any, ncols)
		for i := range cols {
			dest[i] = &cols[i]
		}
		if err := rows.Scan(dest...); err != nil {
			t.Fatal(err)
		}
		out = append(out, strings.Join(cols, "|"))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// catalogRecords returns what the catalog records about placements and
// owned objects.
func (f *plFixture) catalogRecords(t *testing.T) (placements, objects []string) {
	t.Helper()
	placements = plStrings(t, f.db, plCatalogCtx(), 5, "SELECT tenant_id, model, strategy, schema_name, object_name FROM "+tenantmap.PlacementTable)
	objects = plStrings(t, f.db, plCatalogCtx(), 4, "SELECT kind, schema_name, object_name, tenant_id FROM "+tenantmap.ObjectTable)
	return placements, objects
}

// wantCatalog is what the catalog must record for the fixture's tenants.
func (f *plFixture) wantCatalog() (placements, objects []string) {
	qual := func(schema, name string) string { return schema + "|" + name }
	objects = []string{"table|" + f.catalog + "|note|", "table|" + f.catalog + "|comment|"}
	for _, pt := range f.tenants {
		for _, model := range []string{"note", "comment"} {
			where := qual(f.catalog, model)
			switch pt.kind {
			case "table":
				where = qual(f.catalog, pt.id+"_"+model)
				objects = append(objects, "table|"+f.catalog+"|"+pt.id+"_"+model+"|"+pt.id)
			case "schema", "database":
				where = qual(pt.ns, model)
				objects = append(objects, "table|"+pt.ns+"|"+model+"|"+pt.id)
			}
			placements = append(placements, pt.id+"|"+model+"|"+pt.kind+"|"+where)
		}
		if pt.ns != "" {
			objects = append(objects, "schema||"+pt.ns+"|"+pt.id)
		}
	}
	slices.Sort(placements)
	slices.Sort(objects)
	return placements, objects
}

// TestPlacementLayout checks where the tenants' data is: one shared table
// per model, made once; tables, schemas and databases of their own for the
// tenants placed apart, and none for the tenants in the shared tables; and
// a catalog that records each tenant's placement and owns each object once.
func TestPlacementLayout(t *testing.T) {
	plEach(t, func(t *testing.T, f *plFixture) {
		f.checkTables(t)
		for _, got := range physicalTables(t, f.db) {
			for _, id := range append([]string{plQuiet}, plShared...) {
				if strings.Contains(got, id) {
					t.Errorf("a table %s for %s, which is in the shared tables", got, id)
				}
			}
		}
		for _, pt := range f.tenants {
			tn, err := f.db.Tenants().Get(context.Background(), pt.id)
			if err != nil || tn.ID != pt.id || tn.Key != pt.id || tn.Status != tenantmap.StatusActive {
				t.Errorf("Get(%s) = %+v, %v", pt.id, tn, err)
			}
		}
		placements, objects := f.catalogRecords(t)
		wantPlacements, wantObjects := f.wantCatalog()
		if !slices.Equal(placements, wantPlacements) {
			t.Errorf("placements recorded:\n%s\nwant:\n%s", joinLines(placements), joinLines(wantPlacements))
		}
		if !slices.Equal(objects, wantObjects) {
			t.Errorf("objects recorded:\n%s\nwant:\n%s", joinLines(objects), joinLines(wantObjects))
		}
		if f.d.nsName != "" {
			var n int64
			if err := f.db.QueryRow(plCatalogCtx(), "SELECT count(*) FROM information_schema.schemata WHERE schema_name = ?", f.d.nsName).Scan(&n); err != nil || n != 1 {
				t.Errorf("%s's namespace %s: %d, %v", f.d.nsID, f.d.nsName, n, err)
			}
		}

		// Writing rows makes no tables.
		f.seed(t)
		f.checkTables(t)
		// The rows of the tenants in the shared tables are there, under
		// their ids; the tenants placed apart have none there.
		counts := f.sharedCounts(t, "note")
		for _, pt := range f.tenants {
			want := int64(len(f.ledgers[pt.id].notes))
			if pt.kind != "shared" {
				want = 0
			}
			if counts[pt.id] != want {
				t.Errorf("the shared note table holds %d rows of %s, want %d", counts[pt.id], pt.id, want)
			}
		}
	})
}

// sharedCounts counts the rows of each tenant in the shared table of a
// model, reading the physical table directly.
func (f *plFixture) sharedCounts(t *testing.T, model string) map[string]int64 {
	t.Helper()
	table := model
	if f.catalog != "" {
		table = f.catalog + "." + model
	}
	rows, err := f.db.Query(plCatalogCtx(), "SELECT tenant_id, count(*) FROM "+table+" GROUP BY tenant_id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var id string
		var n int64
		if err := rows.Scan(&id, &n); err != nil {
			t.Fatal(err)
		}
		out[id] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPlacementCRUD runs every typed call for every tenant and checks that
// each sees and changes only its own rows, with keys every tenant uses and
// keys only one does.
func TestPlacementCRUD(t *testing.T) {
	plEach(t, func(t *testing.T, f *plFixture) {
		f.seed(t)
		f.checkAll(t)

		t.Run("own rows", func(t *testing.T) {
			for _, id := range f.ids() {
				l := f.ledgers[id]
				ctx := tctx(id)
				for k, want := range l.notes {
					if got, err := f.notes.Get(ctx, k); err != nil || *got != want {
						t.Errorf("%s Get(%d) = %+v, %v; want %+v", id, k, got, err, want)
					}
				}
				for code, want := range l.comments {
					if got, err := f.comments.For(id).Get(context.Background(), code); err != nil || *got != want {
						t.Errorf("%s Get(%q) = %+v, %v; want %+v", id, code, got, err, want)
					}
				}
				n := int64(len(l.notes))
				if c, err := f.notes.Count(ctx, tenantmap.Query{}); err != nil || c != n {
					t.Errorf("%s Count = %d, %v; want %d", id, c, err, n)
				}
				if ok, err := f.notes.Exists(ctx, tenantmap.Query{}); err != nil || ok != (n > 0) {
					t.Errorf("%s Exists = %v, %v; want %v", id, ok, err, n > 0)
				}
				// Filters, order and limit apply within the tenant: every
				// other tenant's bodies sort around this one's.
				got, err := f.notes.Find(ctx, tenantmap.Where("body >= ?", id+"-b1").OrderBy("body DESC").Limit(3))
				var bodies []string
				for _, n := range got {
					bodies = append(bodies, n.Body)
				}
				want := []string{id + "-b4", id + "-b3", id + "-b2"}
				if n == 0 {
					want = nil
				}
				if err != nil || !slices.Equal(bodies, want) {
					t.Errorf("%s Find(body >= %s-b1, body DESC, limit 3) = %v, %v; want %v", id, id, bodies, err, want)
				}
				got, err = f.notes.Find(ctx, tenantmap.OrderBy("body").Offset(1).Limit(2))
				bodies = bodies[:0]
				for _, n := range got {
					bodies = append(bodies, n.Body)
				}
				if want = []string{id + "-b1", id + "-b2"}; n == 0 {
					want = nil
				}
				if err != nil || !slices.Equal(bodies, want) {
					t.Errorf("%s Find(body, offset 1, limit 2) = %v, %v; want %v", id, bodies, err, want)
				}
				first, err := f.notes.First(ctx, tenantmap.OrderBy("body"))
				switch {
				case n == 0 && !errors.Is(err, tenantmap.ErrNotFound):
					t.Errorf("%s First = %+v, %v; want ErrNotFound", id, first, err)
				case n > 0 && (err != nil || first.Body != id+"-b0" || first.Owner != id):
					t.Errorf("%s First(body) = %+v, %v; want %s-b0", id, first, err, id)
				}
				var streamed []int64
				for v, err := range f.notes.All(ctx, tenantmap.OrderBy("id")) {
					if err != nil {
						t.Errorf("%s All: %v", id, err)
						break
					}
					if v.Owner != id {
						t.Errorf("%s All streams %s's row %+v", id, v.Owner, *v)
					}
					streamed = append(streamed, v.ID)
				}
				if want := slices.Sorted(maps.Keys(l.notes)); !slices.Equal(streamed, want) {
					t.Errorf("%s All = keys %v, want %v", id, streamed, want)
				}
				for range f.notes.All(ctx, tenantmap.Query{}) {
					break // stopping early must release the rows
				}
				// Nothing of another tenant's, by any filter.
				if rows, err := f.notes.Find(ctx, tenantmap.Where("owner <> ?", id)); err != nil || len(rows) != 0 {
					t.Errorf("%s Find(owner <> self) = %+v, %v", id, rows, err)
				}
				if rows, err := f.comments.Find(ctx, tenantmap.Where("owner <> ?", id)); err != nil || len(rows) != 0 {
					t.Errorf("%s comments Find(owner <> self) = %+v, %v", id, rows, err)
				}
				if c, err := f.comments.Count(ctx, tenantmap.Where("owner <> ?", id)); err != nil || c != 0 {
					t.Errorf("%s comments Count(owner <> self) = %d, %v", id, c, err)
				}
				if f.tenant(id).kind == "shared" {
					// The tenant column is there to filter on, but a filter
					// cannot widen the tenant's rows to another's.
					if rows, err := f.notes.Find(ctx, tenantmap.Where("tenant_id <> ?", id)); err != nil || len(rows) != 0 {
						t.Errorf("%s Find(tenant_id <> self) = %+v, %v; want no rows", id, rows, err)
					}
				}
				// A filter with OR stays inside the tenant's rows.
				if rows, err := f.notes.Find(ctx, tenantmap.Where("owner = ? OR owner <> ?", id, id)); err != nil || len(rows) != len(l.notes) {
					t.Errorf("%s Find(owner = self OR owner <> self) = %d rows, %v; want its %d", id, len(rows), err, len(l.notes))
				}
				if c, err := f.comments.Count(ctx, tenantmap.Where("1=1 OR code <> ?", "")); err != nil || c != int64(len(l.comments)) {
					t.Errorf("%s comments Count(1=1 OR …) = %d, %v; want its %d", id, c, err, len(l.comments))
				}
				if ok, err := f.notes.Exists(ctx, tenantmap.Where("owner <> ?", id)); err != nil || ok {
					t.Errorf("%s Exists(owner <> self) = %v, %v", id, ok, err)
				}
				if v, err := f.notes.First(ctx, tenantmap.Where("owner <> ?", id)); !errors.Is(err, tenantmap.ErrNotFound) {
					t.Errorf("%s First(owner <> self) = %+v, %v; want ErrNotFound", id, v, err)
				}
			}
		})

		t.Run("other tenants' keys", func(t *testing.T) {
			for _, id := range f.ids() {
				ctx := tctx(id)
				mine := f.ledgers[id]
				for _, other := range f.ids() {
					if other == id {
						continue
					}
					for k := range f.ledgers[other].notes {
						if want, ok := mine.notes[k]; ok {
							// Tables of their own number their keys apart:
							// the same key is this tenant's own row.
							if got, err := f.notes.Get(ctx, k); err != nil || *got != want {
								t.Errorf("%s Get(%d), a key %s has too = %+v, %v; want %+v", id, k, other, got, err, want)
							}
							continue
						}
						if got, err := f.notes.Get(ctx, k); !errors.Is(err, tenantmap.ErrNotFound) || !errors.Is(err, sql.ErrNoRows) {
							t.Errorf("%s Get(%d), %s's key = %+v, %v; want ErrNotFound", id, k, other, got, err)
						}
						if err := f.notes.Update(ctx, &isoNote{ID: k, Owner: id, Body: "hijacked"}); !errors.Is(err, tenantmap.ErrNotFound) {
							t.Errorf("%s Update(%d), %s's key = %v; want ErrNotFound", id, k, other, err)
						}
						if err := f.notes.UpdateColumns(ctx, &isoNote{ID: k, Body: "hijacked"}, "body"); !errors.Is(err, tenantmap.ErrNotFound) {
							t.Errorf("%s UpdateColumns(%d), %s's key = %v; want ErrNotFound", id, k, other, err)
						}
						if err := f.notes.Delete(ctx, k); !errors.Is(err, tenantmap.ErrNotFound) {
							t.Errorf("%s Delete(%d), %s's key = %v; want ErrNotFound", id, k, other, err)
						}
						if rows, err := f.notes.Find(ctx, tenantmap.Where("id = ?", k)); err != nil || len(rows) != 0 {
							t.Errorf("%s Find(id = %d), %s's key = %+v, %v", id, k, other, rows, err)
						}
						if c, err := f.notes.Count(ctx, tenantmap.Where("id = ?", k)); err != nil || c != 0 {
							t.Errorf("%s Count(id = %d), %s's key = %d, %v", id, k, other, c, err)
						}
						if ok, err := f.notes.Exists(ctx, tenantmap.Where("id = ?", k)); err != nil || ok {
							t.Errorf("%s Exists(id = %d), %s's key = %v, %v", id, k, other, ok, err)
						}
					}
					// A key only the other tenant uses.
					code := "only-" + other
					if _, ok := f.ledgers[other].comments[code]; !ok {
						continue
					}
					if got, err := f.comments.Get(ctx, code); !errors.Is(err, tenantmap.ErrNotFound) {
						t.Errorf("%s Get(%q) = %+v, %v; want ErrNotFound", id, code, got, err)
					}
					if err := f.comments.Update(ctx, &plComment{Code: code, Owner: id, Text: "hijacked"}); !errors.Is(err, tenantmap.ErrNotFound) {
						t.Errorf("%s Update(%q) = %v; want ErrNotFound", id, code, err)
					}
					if err := f.comments.UpdateColumns(ctx, &plComment{Code: code, Text: "hijacked"}, "text"); !errors.Is(err, tenantmap.ErrNotFound) {
						t.Errorf("%s UpdateColumns(%q) = %v; want ErrNotFound", id, code, err)
					}
					if err := f.comments.Delete(ctx, code); !errors.Is(err, tenantmap.ErrNotFound) {
						t.Errorf("%s Delete(%q) = %v; want ErrNotFound", id, code, err)
					}
					if ok, err := f.comments.Exists(ctx, tenantmap.Where("code = ?", code)); err != nil || ok {
						t.Errorf("%s Exists(code = %q) = %v, %v", id, code, ok, err)
					}
				}
			}
			f.checkAll(t)
		})

		t.Run("writes with keys every tenant uses", func(t *testing.T) {
			for _, id := range f.ids() {
				if id == plQuiet {
					// quiet holds none of them.
					if err := f.comments.Update(tctx(id), &plComment{Code: "k1", Owner: id, Text: "x"}); !errors.Is(err, tenantmap.ErrNotFound) {
						t.Errorf("quiet Update(k1) = %v; want ErrNotFound", err)
					}
					if err := f.comments.Delete(tctx(id), "k2"); !errors.Is(err, tenantmap.ErrNotFound) {
						t.Errorf("quiet Delete(k2) = %v; want ErrNotFound", err)
					}
					continue
				}
				l := f.ledgers[id]
				ctx := tctx(id)
				c := l.comments["k1"]
				c.Text = id + "/k1-updated"
				if err := f.comments.Update(ctx, &c); err != nil {
					t.Fatalf("%s Update(k1): %v", id, err)
				}
				l.comments["k1"] = c
				c = l.comments["k3"]
				c.Text = id + "/k3-columns"
				if err := f.comments.UpdateColumns(ctx, &plComment{Code: "k3", Text: c.Text, Owner: "ignored"}, "text"); err != nil {
					t.Fatalf("%s UpdateColumns(k3): %v", id, err)
				}
				l.comments["k3"] = c
				if err := f.comments.Delete(ctx, "k2"); err != nil {
					t.Fatalf("%s Delete(k2): %v", id, err)
				}
				delete(l.comments, "k2")
				// The same key again, now that this tenant has none.
				if err := f.comments.Delete(ctx, "k2"); !errors.Is(err, tenantmap.ErrNotFound) {
					t.Errorf("%s Delete(k2) twice = %v; want ErrNotFound", id, err)
				}
				keys := slices.Sorted(maps.Keys(l.notes))
				n := l.notes[keys[0]]
				n.Body = id + "-b0-updated"
				if err := f.notes.Update(ctx, &n); err != nil {
					t.Fatalf("%s Update(%d): %v", id, n.ID, err)
				}
				l.notes[n.ID] = n
				n = l.notes[keys[1]]
				n.Body = id + "-b1-columns"
				if err := f.notes.UpdateColumns(ctx, &isoNote{ID: n.ID, Body: n.Body}, "body"); err != nil {
					t.Fatalf("%s UpdateColumns(%d): %v", id, n.ID, err)
				}
				l.notes[n.ID] = n
				if err := f.notes.Delete(ctx, keys[2]); err != nil {
					t.Fatalf("%s Delete(%d): %v", id, keys[2], err)
				}
				delete(l.notes, keys[2])
				// A key this tenant holds already is refused, though other
				// tenants hold it too.
				if err := f.comments.Insert(ctx, &plComment{Code: "k1", Owner: id, Text: "dup"}); err == nil {
					t.Errorf("%s inserted k1 twice", id)
				}
				// Every tenant, after each one's writes.
				f.checkAll(t)
			}
		})
	})
}

// plRawRows runs a raw query of two text columns.
func plRawRows(t *testing.T, db *tenantmap.DB, ctx context.Context, query string, args ...any) ([][2]string, error) {
	t.Helper()
	rows, err := db.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][2]string
	for rows.Next() {
		var a, b string
		if err := rows.Scan(&a, &b); err != nil {
			return nil, err
		}
		out = append(out, [2]string{a, b})
	}
	return out, rows.Err()
}

// The raw statements of TestPlacementRaw: one text for every tenant,
// whatever its placement.
const (
	plRawNotes = "SELECT owner, body FROM {note} WHERE {tenant} ORDER BY id"
	plRawJoin  = "SELECT n.owner, c.owner FROM {note} n JOIN {comment} c ON c.note_id = n.id WHERE {n.tenant} AND {c.tenant} ORDER BY c.code"
	plRawIn    = "SELECT c.code, c.owner FROM {comment} c WHERE {c.tenant} AND c.note_id IN (SELECT n.id FROM {note} n WHERE {n.tenant} AND n.body LIKE ?)"
	plRawCount = "SELECT count(*) FROM {note} WHERE body LIKE ? AND {tenant}"
	plRawBody  = "SELECT body FROM {note} WHERE id = ? AND {tenant}"
	plRawSet   = "UPDATE {comment} SET text = ? WHERE code = ? AND {tenant}"
	plRawDel   = "DELETE FROM {comment} WHERE code = ? AND {tenant}"
)

// TestPlacementRaw runs the same raw statement texts for tenants of every
// placement: {note} and {comment} name each tenant's tables, {tenant} and
// {alias.tenant} keep a shared table to the tenant's rows, and a statement
// on a shared table without the filter is refused.
func TestPlacementRaw(t *testing.T) {
	plEach(t, func(t *testing.T, f *plFixture) {
		f.seed(t)
		for _, id := range f.ids() {
			l := f.ledgers[id]
			ctx := tctx(id)

			got, err := plRawRows(t, f.db, ctx, plRawNotes)
			var want [][2]string
			for _, k := range slices.Sorted(maps.Keys(l.notes)) {
				want = append(want, [2]string{id, l.notes[k].Body})
			}
			if err != nil || !slices.Equal(got, want) {
				t.Errorf("%s %q = %v, %v; want %v", id, plRawNotes, got, err, want)
			}

			got, err = plRawRows(t, f.db, ctx, plRawJoin)
			want = nil
			for range l.comments {
				want = append(want, [2]string{id, id})
			}
			if err != nil || !slices.Equal(got, want) {
				t.Errorf("%s %q = %v, %v; want %v", id, plRawJoin, got, err, want)
			}

			got, err = plRawRows(t, f.db, ctx, plRawIn, "%-b0")
			want = nil
			for _, code := range slices.Sorted(maps.Keys(l.comments)) {
				want = append(want, [2]string{code, id})
			}
			slices.SortFunc(got, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
			if err != nil || !slices.Equal(got, want) {
				t.Errorf("%s %q = %v, %v; want %v", id, plRawIn, got, err, want)
			}

			var n int64
			if err := f.db.QueryRow(ctx, plRawCount, "%-b%").Scan(&n); err != nil || n != int64(len(l.notes)) {
				t.Errorf("%s %q = %d, %v; want %d", id, plRawCount, n, err, len(l.notes))
			}
			for k, note := range l.notes {
				var body string
				if err := f.db.QueryRow(ctx, plRawBody, k).Scan(&body); err != nil || body != note.Body {
					t.Errorf("%s %q with its key %d = %q, %v; want %q", id, plRawBody, k, body, err, note.Body)
				}
			}
			for _, other := range f.ids() {
				for k := range f.ledgers[other].notes {
					if _, mine := l.notes[k]; mine {
						continue
					}
					var body string
					if err := f.db.QueryRow(ctx, plRawBody, k).Scan(&body); !errors.Is(err, tenantmap.ErrNotFound) {
						t.Errorf("%s %q with %s's key %d = %q, %v; want ErrNotFound", id, plRawBody, other, k, body, err)
					}
				}
			}
		}

		// Writes through the same texts change the tenant's row only, under
		// keys every tenant uses.
		for _, id := range f.ids() {
			l := f.ledgers[id]
			ctx := tctx(id)
			wantN := int64(0)
			if c, ok := l.comments["k1"]; ok {
				wantN = 1
				c.Text = id + "/raw"
				l.comments["k1"] = c
			}
			if n, err := f.db.Exec(ctx, plRawSet, id+"/raw", "k1"); err != nil || n != wantN {
				t.Errorf("%s %q = %d, %v; want %d", id, plRawSet, n, err, wantN)
			}
			f.checkAll(t)
			wantN = int64(0)
			if _, ok := l.comments["k3"]; ok {
				wantN = 1
				delete(l.comments, "k3")
			}
			if n, err := f.db.Exec(ctx, plRawDel, "k3"); err != nil || n != wantN {
				t.Errorf("%s %q = %d, %v; want %d", id, plRawDel, n, err, wantN)
			}
			f.checkAll(t)
		}

		// Without {tenant}, a statement on a shared table is refused for a
		// tenant in it, before it runs; for a tenant in tables of its own it
		// runs, on those tables only. want is the count it returns or the
		// rows it changes there, from the tenant's ledger before it runs.
		unfiltered := []struct {
			sql  string
			args []any
			want func(l *plLedger) int64
		}{
			{"SELECT count(*) FROM {note}", nil, func(l *plLedger) int64 { return int64(len(l.notes)) }},
			{"SELECT count(*) FROM {note} n JOIN {comment} c ON c.note_id = n.id", nil, func(l *plLedger) int64 { return int64(len(l.comments)) }},
			// A {tenant} in a literal or a comment is not the filter.
			{"SELECT count(*) FROM {note} WHERE body <> '{tenant}'", nil, func(l *plLedger) int64 { return int64(len(l.notes)) }},
			{"SELECT count(*) FROM {note} /* {tenant} */", nil, func(l *plLedger) int64 { return int64(len(l.notes)) }},
			{"UPDATE {comment} SET text = ? WHERE code = ?", []any{"hijacked", "k1"}, func(l *plLedger) int64 {
				c := l.comments["k1"]
				c.Text = "hijacked"
				l.comments["k1"] = c
				return 1
			}},
			{"DELETE FROM {comment} WHERE code <> ?", []any{"none"}, func(l *plLedger) int64 {
				n := int64(len(l.comments))
				clear(l.comments)
				return n
			}},
			{"DELETE FROM {note} WHERE id > ? OR owner <> ?", []any{0, "none"}, func(l *plLedger) int64 {
				n := int64(len(l.notes))
				clear(l.notes)
				return n
			}},
			{"INSERT INTO {note} (owner, body) VALUES (?, ?)", []any{"nobody", "hijacked"}, func(*plLedger) int64 { return 1 }},
		}
		for _, pt := range f.tenants {
			ctx := tctx(pt.id)
			l := f.ledgers[pt.id]
			for _, u := range unfiltered {
				var n int64
				var err error
				if strings.HasPrefix(u.sql, "SELECT") {
					err = f.db.QueryRow(ctx, u.sql, u.args...).Scan(&n)
				} else {
					n, err = f.db.Exec(ctx, u.sql, u.args...)
				}
				if pt.kind == "shared" {
					if !errors.Is(err, tenantmap.ErrInvalidQuery) || n != 0 {
						t.Errorf("%s %q = %d, %v; want ErrInvalidQuery", pt.id, u.sql, n, err)
					}
					rows, err := f.db.Query(ctx, u.sql, u.args...)
					if err == nil {
						rows.Close()
					}
					if !errors.Is(err, tenantmap.ErrInvalidQuery) {
						t.Errorf("%s Query(%q) = %v; want ErrInvalidQuery", pt.id, u.sql, err)
					}
					continue
				}
				if want := u.want(l); err != nil || n != want {
					t.Errorf("%s %q = %d, %v; want %d, on its own tables", pt.id, u.sql, n, err, want)
				}
			}
			if pt.kind != "shared" {
				// The key of the row the INSERT made.
				rows, err := f.notes.Find(ctx, tenantmap.Query{})
				if err != nil || len(rows) != 1 || rows[0].Owner != "nobody" {
					t.Fatalf("%s after its unfiltered statements: %+v, %v; want the one row inserted", pt.id, rows, err)
				}
				l.notes[rows[0].ID] = rows[0]
			}
			f.checkAll(t)
		}
	})
}

// TestPlacementConcurrent runs random calls from several goroutines on
// random tenants of every placement, and checks that every read sees
// exactly its own tenant's rows (run it with -race).
func TestPlacementConcurrent(t *testing.T) {
	const (
		workers = 8
		ops     = 200
	)
	plEach(t, func(t *testing.T, f *plFixture) {
		bg, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
		defer cancel()
		ids := f.ids()
		notes := make([]*isoLedger, len(ids))
		comments := make([]map[string]plComment, len(ids))
		for i := range ids {
			notes[i] = &isoLedger{rows: map[int64]string{}}
			comments[i] = map[string]plComment{}
		}
		tables := physicalTables(t, f.db)
		var maxKey atomic.Int64
		seed := uint64(time.Now().UnixNano())
		t.Logf("seed %d", seed)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(seed, uint64(w)))
				for i := range ops {
					ti := rng.IntN(len(ids))
					id, l := ids[ti], notes[ti]
					l.mu.Lock()
					var err error
					if rng.IntN(4) == 0 {
						err = plCommentStep(bg, f.comments, id, comments[ti], rng, fmt.Sprintf("%s/w%d/%d", id, w, i))
					} else {
						err = isoStep(bg, f.db, f.notes, id, l, rng, &maxKey, fmt.Sprintf("%s/w%d/%d", id, w, i))
					}
					l.mu.Unlock()
					if err != nil {
						t.Errorf("worker %d, op %d, tenant %s: %v", w, i, id, err)
						return
					}
				}
			})
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		total := 0
		for i, id := range ids {
			if err := isoCheckAll(tctx(id), f.notes, id, notes[i]); err != nil {
				t.Errorf("tenant %s at the end: %v", id, err)
			}
			got, err := f.comments.Find(tctx(id), tenantmap.Query{})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(comments[i]) {
				t.Errorf("tenant %s at the end: %d comments, want %d", id, len(got), len(comments[i]))
			}
			for _, c := range got {
				if c != comments[i][c.Code] {
					t.Errorf("tenant %s at the end: comment %+v, want %+v", id, c, comments[i][c.Code])
				}
			}
			total += len(notes[i].rows) + len(comments[i])
		}
		if total == 0 {
			t.Error("no rows written: the workload did not run")
		}
		if after := physicalTables(t, f.db); !slices.Equal(after, tables) {
			t.Errorf("tables changed under the workload:\nbefore:\n%s\nafter:\n%s", joinLines(tables), joinLines(after))
		}
	})
}

// plCommentStep runs one random call on a comment whose key every tenant
// may use, and checks it against the tenant's ledger.
func plCommentStep(bg context.Context, comments *tenantmap.Table[plComment], id string, l map[string]plComment, rng *rand.Rand, text string) error {
	ctx, tbl := tenantmap.WithTenant(bg, id), comments
	if rng.IntN(2) == 0 {
		ctx, tbl = bg, comments.For(id)
	}
	code := fmt.Sprintf("c%d", rng.IntN(4))
	got, err := tbl.Get(ctx, code)
	want, ok := l[code]
	switch {
	case !ok && !errors.Is(err, tenantmap.ErrNotFound):
		return fmt.Errorf("get %s: the tenant has none, got %+v, %v", code, got, err)
	case ok && err != nil:
		return fmt.Errorf("get %s: %w", code, err)
	case ok && *got != want:
		return fmt.Errorf("get %s: got %+v, want %+v", code, *got, want)
	}
	switch {
	case !ok:
		c := plComment{Code: code, NoteID: rng.Int64N(100), Owner: id, Text: text}
		if err := tbl.Insert(ctx, &c); err != nil {
			return fmt.Errorf("insert %s: %w", code, err)
		}
		l[code] = c
	case rng.IntN(3) == 0:
		if err := tbl.Delete(ctx, code); err != nil {
			return fmt.Errorf("delete %s: %w", code, err)
		}
		delete(l, code)
	default:
		want.Text = text
		if err := tbl.UpdateColumns(ctx, &want, "text"); err != nil {
			return fmt.Errorf("update %s: %w", code, err)
		}
		l[code] = want
		n, err := tbl.Count(ctx, tenantmap.Where("code = ? AND owner = ?", code, id))
		if err != nil || n != 1 {
			return fmt.Errorf("count %s after update: %d, %v", code, n, err)
		}
	}
	return nil
}

// TestPlacementDrop drops tenants of every placement: a tenant in the
// shared tables loses its rows and nothing else, a tenant placed apart
// loses its tables, schema or database; the others keep every row; and an
// id created again, in any placement, starts empty.
func TestPlacementDrop(t *testing.T) {
	plEach(t, func(t *testing.T, f *plFixture) {
		bg := context.Background()
		f.seed(t)
		oldNotes := map[string][]int64{}
		for _, id := range f.ids() {
			oldNotes[id] = slices.Collect(maps.Keys(f.ledgers[id].notes))
		}
		gone := func(t *testing.T, id string) {
			t.Helper()
			if _, err := f.db.Tenants().Get(bg, id); !errors.Is(err, tenantmap.ErrTenantNotFound) {
				t.Errorf("Get(%s) after its drop = %v; want ErrTenantNotFound", id, err)
			}
			if n, err := f.notes.Count(tctx(id), tenantmap.Query{}); !errors.Is(err, tenantmap.ErrTenantNotFound) {
				t.Errorf("Count for %s after its drop = %d, %v; want ErrTenantNotFound", id, n, err)
			}
			if _, err := f.db.Exec(tctx(id), plRawDel, "k1"); !errors.Is(err, tenantmap.ErrTenantNotFound) {
				t.Errorf("raw delete for %s after its drop = %v; want ErrTenantNotFound", id, err)
			}
			placements, objects := f.catalogRecords(t)
			for _, r := range append(placements, objects...) {
				if strings.HasPrefix(r, id+"|") || strings.HasSuffix(r, "|"+id) {
					t.Errorf("the catalog still records %q after %s's drop", r, id)
				}
			}
			wantPlacements, wantObjects := f.wantCatalog()
			if !slices.Equal(placements, wantPlacements) || !slices.Equal(objects, wantObjects) {
				t.Errorf("catalog after %s's drop:\n%s\n%s\nwant:\n%s\n%s", id, joinLines(placements), joinLines(objects), joinLines(wantPlacements), joinLines(wantObjects))
			}
		}

		t.Run("shared", func(t *testing.T) {
			before := map[string]map[string]int64{"note": f.sharedCounts(t, "note"), "comment": f.sharedCounts(t, "comment")}
			f.drop(t, "s2")
			gone(t, "s2")
			f.checkTables(t) // the shared tables stay
			for model, counts := range before {
				after := f.sharedCounts(t, model)
				if after["s2"] != 0 {
					t.Errorf("%d of s2's rows are left in the shared %s table", after["s2"], model)
				}
				delete(counts, "s2")
				if !maps.Equal(after, counts) {
					t.Errorf("rows per tenant in the shared %s table: %v, were %v besides s2's", model, after, counts)
				}
			}
			f.checkAll(t)
		})

		t.Run("own tables", func(t *testing.T) {
			f.drop(t, plOwn)
			gone(t, plOwn)
			f.checkTables(t) // own_note and own_comment are gone, nothing else
			f.checkAll(t)
		})

		if f.d.nsID != "" {
			t.Run("own "+f.d.nsKind, func(t *testing.T) {
				f.drop(t, f.d.nsID)
				gone(t, f.d.nsID)
				f.checkTables(t)
				var n int64
				if err := f.db.QueryRow(plCatalogCtx(), "SELECT count(*) FROM information_schema.schemata WHERE schema_name = ?", f.d.nsName).Scan(&n); err != nil || n != 0 {
					t.Errorf("%s's namespace %s after its drop: %d, %v", f.d.nsID, f.d.nsName, n, err)
				}
				f.checkAll(t)
			})
		}

		t.Run("created again", func(t *testing.T) {
			// s2 in the shared tables again; own there too, this time; s3
			// (dropped now) in tables of its own; the namespaced tenant in
			// a namespace again.
			f.drop(t, "s3")
			gone(t, "s3")
			f.create(t, plTenant{id: "s2", kind: "shared"}, nil)
			f.create(t, plTenant{id: plOwn, kind: "shared"}, nil)
			f.create(t, plTenant{id: "s3", kind: "table"}, tenantmap.WithPlacement(tenantmap.TablePerTenant("")))
			again := []string{"s2", plOwn, "s3"}
			if f.d.nsID != "" {
				f.create(t, plTenant{id: f.d.nsID, kind: f.d.nsKind, ns: f.d.nsName}, tenantmap.WithPlacement(f.d.nsStrategy))
				again = append(again, f.d.nsID)
			}
			f.checkTables(t)
			wantPlacements, wantObjects := f.wantCatalog()
			if placements, objects := f.catalogRecords(t); !slices.Equal(placements, wantPlacements) || !slices.Equal(objects, wantObjects) {
				t.Errorf("catalog:\n%s\n%s\nwant:\n%s\n%s", joinLines(placements), joinLines(objects), joinLines(wantPlacements), joinLines(wantObjects))
			}
			for _, id := range again {
				ctx := tctx(id)
				if n, err := f.notes.Count(ctx, tenantmap.Query{}); err != nil || n != 0 {
					t.Errorf("%s created again has %d notes, %v", id, n, err)
				}
				if n, err := f.comments.Count(ctx, tenantmap.Query{}); err != nil || n != 0 {
					t.Errorf("%s created again has %d comments, %v", id, n, err)
				}
				for _, k := range oldNotes[id] {
					if got, err := f.notes.Get(ctx, k); !errors.Is(err, tenantmap.ErrNotFound) {
						t.Errorf("%s created again: Get(%d), its old key = %+v, %v; want ErrNotFound", id, k, got, err)
					}
				}
				for _, code := range []string{"k1", "only-" + id} {
					if got, err := f.comments.Get(ctx, code); !errors.Is(err, tenantmap.ErrNotFound) {
						t.Errorf("%s created again: Get(%q), its old key = %+v, %v; want ErrNotFound", id, code, got, err)
					}
				}
				var n int64
				if err := f.db.QueryRow(ctx, plRawCount, "%").Scan(&n); err != nil || n != 0 {
					t.Errorf("%s created again: %q = %d, %v; want 0", id, plRawCount, n, err)
				}
			}
			// They work like any tenant, beside the others.
			for _, id := range again {
				n := &isoNote{Owner: id, Body: id + "-again"}
				if err := f.notes.Insert(tctx(id), n); err != nil {
					t.Fatal(err)
				}
				f.ledgers[id].notes[n.ID] = *n
				c := &plComment{Code: "k1", NoteID: n.ID, Owner: id, Text: id + "/again"}
				if err := f.comments.Insert(tctx(id), c); err != nil {
					t.Fatal(err)
				}
				f.ledgers[id].comments[c.Code] = *c
			}
			f.checkAll(t)
		})
	})
}

// TestPlacementNameConflict: a tenant's own table may not take the name of
// a shared table, nor a shared table the name of a tenant's own table;
// either is refused with ErrNameConflict and leaves nothing behind.
func TestPlacementNameConflict(t *testing.T) {
	opens := []struct {
		name string
		open func(testing.TB) *tenantmap.DB
	}{{"sqlite", sqliteOpen}, {"postgres", postgresOpen}, {"mysql", mysqlOpen}}
	bg := context.Background()

	// refused checks that creating id failed with ErrNameConflict (or
	// another of wants) and left no tenant, no table and no catalog record.
	refused := func(t *testing.T, db *tenantmap.DB, id string, err error, tables []string, wants ...error) {
		t.Helper()
		wants = append(wants, tenantmap.ErrNameConflict)
		if !slices.ContainsFunc(wants, func(w error) bool { return errors.Is(err, w) }) {
			t.Errorf("Create(%s) = %v; want %v", id, err, wants)
		}
		if _, err := db.Tenants().Get(bg, id); !errors.Is(err, tenantmap.ErrTenantNotFound) {
			t.Errorf("the refused Create(%s) left a tenant: %v", id, err)
		}
		if got := physicalTables(t, db); !slices.Equal(got, tables) {
			t.Errorf("the refused Create(%s) changed the tables:\n%s\nwere:\n%s", id, joinLines(got), joinLines(tables))
		}
		var n int64
		for _, q := range []string{
			"SELECT count(*) FROM " + tenantmap.ObjectTable + " WHERE tenant_id = ?",
			"SELECT count(*) FROM " + tenantmap.PlacementTable + " WHERE tenant_id = ?",
		} {
			rows, err := tenantmap.AdminQuery(context.Background(), db, q, id)
			if err == nil {
				if !rows.Next() {
					err = rows.Err()
				} else {
					err = rows.Scan(&n)
				}
				rows.Close()
			}
			if err != nil || n != 0 {
				t.Errorf("the refused Create(%s): %q = %d, %v; want 0", id, q, n, err)
			}
		}
	}

	for _, o := range opens {
		t.Run(o.name, func(t *testing.T) {
			t.Parallel()

			t.Run("own table named as the shared table", func(t *testing.T) {
				db := o.open(t)
				notes, err := tenantmap.Register[isoNote](db, tenantmap.SharedTable(""), tenantmap.ModelName("note"))
				if err != nil {
					t.Fatal(err)
				}
				mustCreate(t, db, "s1")
				row := &isoNote{Owner: "s1", Body: "s1's"}
				if err := notes.Insert(tctx("s1"), row); err != nil {
					t.Fatal(err)
				}
				tables := physicalTables(t, db)
				_, err = db.Tenants().Create(bg, "note", tenantmap.WithPlacement(tenantmap.TablePerTenant("{tenant}")))
				refused(t, db, "note", err, tables)
				if got, err := notes.Find(tctx("s1"), tenantmap.Query{}); err != nil || len(got) != 1 || got[0] != *row {
					t.Errorf("s1 after the refused Create: %+v, %v", got, err)
				}
				// The id is free; in the shared table, it starts empty.
				mustCreate(t, db, "note")
				if n, err := notes.Count(tctx("note"), tenantmap.Query{}); err != nil || n != 0 {
					t.Errorf("note in the shared table: %d rows, %v", n, err)
				}
			})

			t.Run("shared table named as a tenant's own table", func(t *testing.T) {
				db := o.open(t)
				notes, err := tenantmap.Register[isoNote](db, tenantmap.SharedTable(""), tenantmap.ModelName("note"))
				if err != nil {
					t.Fatal(err)
				}
				// Before any tenant is in the shared table, tenant "note"
				// takes its name for a table of its own.
				if _, err := db.Tenants().Create(bg, "note", tenantmap.WithPlacement(tenantmap.TablePerTenant("{tenant}"))); err != nil {
					t.Fatal(err)
				}
				row := &isoNote{Owner: "note", Body: "note's"}
				if err := notes.Insert(tctx("note"), row); err != nil {
					t.Fatal(err)
				}
				tables := physicalTables(t, db)
				_, err = db.Tenants().Create(bg, "s1")
				refused(t, db, "s1", err, tables)
				if got, err := notes.Find(tctx("note"), tenantmap.Query{}); err != nil || len(got) != 1 || got[0] != *row {
					t.Errorf("note after the refused Create: %+v, %v", got, err)
				}
				// Once note is dropped the name is free for the shared table.
				if err := db.Tenants().Drop(bg, "note", tenantmap.ConfirmDrop("note")); err != nil {
					t.Fatal(err)
				}
				mustCreate(t, db, "s1")
				if n, err := notes.Count(tctx("s1"), tenantmap.Query{}); err != nil || n != 0 {
					t.Errorf("s1 in the shared table: %d rows, %v", n, err)
				}
			})

			t.Run("shared table named as a tenant's table with its columns", func(t *testing.T) {
				// acme's own audit table has every column a shared table of
				// entries needs, tenant_id included: only the catalog
				// tells that it is acme's.
				type audit struct {
					ID       int64
					TenantID string
					Body     string
				}
				type entry struct {
					ID   int64
					Body string
				}
				db := o.open(t)
				audits, err := tenantmap.Register[audit](db, tenantmap.TablePerTenant("{tenant}_audit"), tenantmap.ModelName("audit"))
				if err != nil {
					t.Fatal(err)
				}
				mustCreate(t, db, "acme")
				secret := &audit{TenantID: "acme", Body: "acme's secret"}
				if err := audits.Insert(tctx("acme"), secret); err != nil {
					t.Fatal(err)
				}
				entries, err := tenantmap.Register[entry](db, tenantmap.SharedTable("acme_audit"), tenantmap.ModelName("entry"))
				if err != nil {
					t.Fatal(err)
				}
				tables := physicalTables(t, db)
				_, err = db.Tenants().Create(bg, "s1")
				refused(t, db, "s1", err, tables)
				// acme, made before entry was registered, has its entries
				// in the shared table by default: that name is its audit
				// table, so it is refused rather than read.
				if got, err := entries.Find(tctx("acme"), tenantmap.Query{}); !errors.Is(err, tenantmap.ErrNameConflict) {
					t.Errorf("acme's entries over its audit table = %+v, %v; want ErrNameConflict", got, err)
				}
				var n int64
				if err := db.QueryRow(tctx("acme"), "SELECT count(*) FROM {entry} WHERE {tenant}").Scan(&n); !errors.Is(err, tenantmap.ErrNameConflict) {
					t.Errorf("acme's raw count of entries over its audit table = %d, %v; want ErrNameConflict", n, err)
				}
				if got, err := audits.Get(tctx("acme"), secret.ID); err != nil || *got != *secret {
					t.Errorf("acme's audit row: %+v, %v", got, err)
				}
			})

			t.Run("shared table named as a catalog table", func(t *testing.T) {
				// Refused when the model is registered, or else by Create.
				db := o.open(t)
				_, err := tenantmap.Register[isoNote](db, tenantmap.SharedTable(tenantmap.ObjectTable), tenantmap.ModelName("note"))
				if errors.Is(err, tenantmap.ErrInvalidModel) {
					return
				}
				if err != nil {
					t.Fatalf("Register = %v; want nil or ErrInvalidModel", err)
				}
				tables := physicalTables(t, db)
				_, err = db.Tenants().Create(bg, "s1")
				refused(t, db, "s1", err, tables)
			})

			t.Run("two models, one shared table", func(t *testing.T) {
				db := o.open(t)
				if _, err := tenantmap.Register[isoNote](db, tenantmap.SharedTable("rows"), tenantmap.ModelName("note")); err != nil {
					t.Fatal(err)
				}
				if _, err := tenantmap.Register[plComment](db, tenantmap.SharedTable("rows"), tenantmap.ModelName("comment")); err != nil {
					t.Fatal(err)
				}
				tables := physicalTables(t, db)
				_, err := db.Tenants().Create(bg, "s1")
				refused(t, db, "s1", err, tables)
			})

			t.Run("one template for two models", func(t *testing.T) {
				// "{tenant}_note" names one table for both models: the
				// placement is refused, whole.
				db := o.open(t)
				notes, err := tenantmap.Register[isoNote](db, tenantmap.SharedTable(""), tenantmap.ModelName("note"))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := tenantmap.Register[plComment](db, tenantmap.SharedTable(""), tenantmap.ModelName("comment")); err != nil {
					t.Fatal(err)
				}
				mustCreate(t, db, "s1")
				tables := physicalTables(t, db)
				_, err = db.Tenants().Create(bg, "big", tenantmap.WithPlacement(tenantmap.TablePerTenant("{tenant}_note")))
				refused(t, db, "big", err, tables, tenantmap.ErrInvalidModel)
				if _, err := db.Tenants().Create(bg, "big", tenantmap.WithPlacement(tenantmap.TablePerTenant(""))); err != nil {
					t.Fatalf("Create(big) with a table per model: %v", err)
				}
				if n, err := notes.Count(tctx("big"), tenantmap.Query{}); err != nil || n != 0 {
					t.Errorf("big: %d notes, %v", n, err)
				}
			})
		})
	}
}

// TestPlacementConcurrentCreate creates tenants of several placements at
// once on a database without shared tables yet: every Create succeeds, the
// shared tables are made and recorded once, and each tenant starts empty.
func TestPlacementConcurrentCreate(t *testing.T) {
	for _, d := range plDialects {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			db := d.open(t)
			notes, err := tenantmap.Register[isoNote](db, tenantmap.SharedTable(""), tenantmap.ModelName("note"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tenantmap.Register[plComment](db, tenantmap.SharedTable(""), tenantmap.ModelName("comment")); err != nil {
				t.Fatal(err)
			}
			const n = 8
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					id := fmt.Sprintf("c%d", i)
					var opts []tenantmap.CreateOption
					if i%4 == 3 {
						opts = append(opts, tenantmap.WithPlacement(tenantmap.TablePerTenant("")))
					}
					if _, err := db.Tenants().Create(context.Background(), id, opts...); err != nil {
						t.Errorf("create %s: %v", id, err)
						return
					}
					row := &isoNote{Owner: id, Body: id}
					if err := notes.Insert(tctx(id), row); err != nil {
						t.Errorf("insert for %s: %v", id, err)
					}
				})
			}
			wg.Wait()
			shared := plStrings(t, db, tctx("c0"), 2, "SELECT object_name, model FROM "+tenantmap.ObjectTable+" WHERE tenant_id = ''")
			if want := []string{"comment|comment", "note|note"}; !slices.Equal(shared, want) {
				t.Errorf("shared tables recorded: %v, want %v", shared, want)
			}
			for i := range n {
				id := fmt.Sprintf("c%d", i)
				got, err := notes.Find(tctx(id), tenantmap.Query{})
				if err != nil || len(got) != 1 || got[0].Owner != id {
					t.Errorf("%s sees %+v, %v; want its one row", id, got, err)
				}
			}
		})
	}
}

// TestPlacementDropLateModel: a model registered after a tenant was made
// falls back to its default strategy, here the shared table, and the
// tenant's rows there are its rows like any other: Drop must delete them,
// or the id created again finds the rows of its previous life.
func TestPlacementDropLateModel(t *testing.T) {
	for _, d := range plDialects {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			db := d.open(t)
			bg := context.Background()
			if _, err := tenantmap.Register[isoNote](db, tenantmap.SharedTable(""), tenantmap.ModelName("note")); err != nil {
				t.Fatal(err)
			}
			mustCreate(t, db, "a")
			comments, err := tenantmap.Register[plComment](db, tenantmap.SharedTable(""), tenantmap.ModelName("comment"))
			if err != nil {
				t.Fatal(err)
			}
			mustCreate(t, db, "b") // makes the comment table
			old := &plComment{Code: "k1", Owner: "a", Text: "a's previous life"}
			if err := comments.Insert(tctx("a"), old); err != nil {
				t.Fatalf("a's comment, in the shared table by default: %v", err)
			}
			if err := comments.Insert(tctx("b"), &plComment{Code: "k1", Owner: "b", Text: "b's"}); err != nil {
				t.Fatal(err)
			}
			if err := db.Tenants().Drop(bg, "a", tenantmap.ConfirmDrop("a")); err != nil {
				t.Fatal(err)
			}
			var left int64
			if err := db.QueryRow(tctx("b"), "SELECT count(*) FROM comment WHERE tenant_id = ?", "a").Scan(&left); err != nil || left != 0 {
				t.Errorf("after a's drop the shared comment table holds %d of a's rows, %v; want 0", left, err)
			}
			mustCreate(t, db, "a")
			if got, err := comments.Get(tctx("a"), "k1"); !errors.Is(err, tenantmap.ErrNotFound) {
				t.Errorf("a created again: Get(k1) = %+v, %v; want ErrNotFound", got, err)
			}
			if n, err := comments.Count(tctx("a"), tenantmap.Query{}); err != nil || n != 0 {
				t.Errorf("a created again has %d comments, %v; want 0", n, err)
			}
			if got, err := comments.Get(tctx("b"), "k1"); err != nil || got.Owner != "b" {
				t.Errorf("b's comment: %+v, %v", got, err)
			}
		})
	}
}

// plOpenTwice opens two handles on one fresh database of the dialect, as
// two processes of one application would.
func plOpenTwice(t *testing.T, dialect string) (*tenantmap.DB, *tenantmap.DB) {
	t.Helper()
	var u string
	switch dialect {
	case "postgres":
		u = newPostgresDatabase(t)
	case "mysql":
		u = newMySQLDatabase(t)
	default:
		u = "sqlite:" + filepath.Join(t.TempDir(), "test.db")
	}
	var dbs [2]*tenantmap.DB
	for i := range dbs {
		db, err := openCreating(context.Background(), u)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		dbs[i] = db
	}
	return dbs[0], dbs[1]
}

// TestPlacementDropOtherHandle: a tenant dropped through one handle is gone
// for every handle on the database. Handle a has cached where tenant x's
// notes are (x_note, a table of its own); through handle b, x is dropped
// and tenant x_note, placed by the template "{tenant}", takes the name
// x_note. A call for x through a must not reach x_note's table.
//
// Known gap, for the cross-process invalidation of issue 5: one handle's
// registry does not yet learn of another handle's Drop, so this fails.
func TestPlacementDropOtherHandle(t *testing.T) {
	t.Skip("a handle does not yet learn of another handle's Drop: cross-process invalidation (issue 5)")
	for _, d := range plDialects {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			bg := context.Background()
			a, b := plOpenTwice(t, d.name)
			var notes [2]*tenantmap.Table[isoNote]
			for i, db := range []*tenantmap.DB{a, b} {
				var err error
				if notes[i], err = tenantmap.Register[isoNote](db, tenantmap.SharedTable(""), tenantmap.ModelName("note")); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := b.Tenants().Create(bg, "x", tenantmap.WithPlacement(tenantmap.TablePerTenant("{tenant}_note"))); err != nil {
				t.Fatal(err)
			}
			if err := notes[0].Insert(tctx("x"), &isoNote{Owner: "x", Body: "x's"}); err != nil {
				t.Fatal(err)
			}
			if err := b.Tenants().Drop(bg, "x", tenantmap.ConfirmDrop("x")); err != nil {
				t.Fatal(err)
			}
			if _, err := b.Tenants().Create(bg, "x_note", tenantmap.WithPlacement(tenantmap.TablePerTenant("{tenant}"))); err != nil {
				t.Fatal(err)
			}
			secret := &isoNote{Owner: "x_note", Body: "x_note's secret"}
			if err := notes[1].Insert(tctx("x_note"), secret); err != nil {
				t.Fatal(err)
			}

			if got, err := notes[0].Find(tctx("x"), tenantmap.Query{}); err == nil || len(got) != 0 {
				t.Errorf("handle a, Find for the dropped x = %+v, %v; want an error and no rows", got, err)
			}
			if err := notes[0].Insert(tctx("x"), &isoNote{Owner: "x", Body: "x after its drop"}); err == nil {
				t.Errorf("handle a, Insert for the dropped x succeeded")
			}
			got, err := notes[1].Find(tctx("x_note"), tenantmap.Query{})
			if err != nil || len(got) != 1 || got[0] != *secret {
				t.Errorf("x_note's notes: %+v, %v; want only its own %+v", got, err, *secret)
			}
		})
	}
}
