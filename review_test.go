package tenantmap_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tenantmap/tenantmap"
)

// rewriteExportHeader edits the header line of an export file.
func rewriteExportHeader(t *testing.T, file []byte, edit func(h map[string]any)) []byte {
	t.Helper()
	first, rest, _ := bytes.Cut(file, []byte("\n"))
	var h map[string]any
	if err := json.Unmarshal(first, &h); err != nil {
		t.Fatal(err)
	}
	edit(h)
	nb, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	return append(append(nb, '\n'), rest...)
}

// An export file's custom field id is pasted into SQL (the JSON path of the
// shared table's derived table) unchecked: an edited file read by Import
// makes a tenant whose queries read every tenant's rows.
func TestReviewImportCustomFieldIDInjection(t *testing.T) {
	b := backendNamed(t, "postgres/shared")
	db := b.open(t)
	notes, err := tenantmap.Register[Note](db, b.strategy("{tenant}_note"))
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, db, "acme", "mallory")
	ctx := context.Background()
	if err := notes.Insert(tctx("acme"), &Note{Body: "acme's secret"}); err != nil {
		t.Fatal(err)
	}
	if err := db.Tenants().AddField(ctx, "mallory", "note", tenantmap.FieldDef{Name: "tag", Type: "string", Nullable: true}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := db.Tenants().Export(ctx, "mallory", &buf); err != nil {
		t.Fatal(err)
	}
	evil := `f1' AS "tag" FROM "public"."note" WHERE $1::text <> '') AS "note" --`
	file := rewriteExportHeader(t, buf.Bytes(), func(h map[string]any) {
		h["custom"].(map[string]any)["note"].([]any)[0].(map[string]any)["id"] = evil
	})
	_, err = db.Tenants().Import(ctx, "evil", bytes.NewReader(file))
	if err != nil {
		if errors.Is(err, tenantmap.ErrInvalidExport) {
			return // refused: right
		}
		t.Fatalf("import: want ErrInvalidExport for a custom field id that is not f<n>, got %v", err)
	}
	rows, err := notes.Find(tctx("evil"), tenantmap.Query{})
	if err != nil {
		t.Fatalf("import accepted the id %q; find: %v", evil, err)
	}
	for _, r := range rows {
		t.Errorf("tenant evil (imported with no rows) reads another tenant's row: %+v", r.Body)
	}
	if len(rows) == 0 {
		t.Errorf("import accepted the custom field id %q, which is pasted into SQL", evil)
	}
}

// The notification channel is "tenantmap:" + the catalog schema; a schema
// name of 54-63 bytes (valid: Config takes up to 63) makes a channel name
// PostgreSQL refuses (NAMEDATALEN), and the catalog trigger's pg_notify
// fails every change to a tenant.
func TestReviewLongSchemaChannel(t *testing.T) {
	b := backendNamed(t, "postgres/table")
	base := b.open(t)
	schema := "s" + strings.Repeat("x", 53) // 54 bytes
	if _, err := tenantmap.AdminExec(context.Background(), base, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	db := reopenWith(t, base, func(c *tenantmap.Config) { c.Schema = schema })
	if _, err := tenantmap.Register[Note](db, b.strategy("{tenant}_note")); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, db, "acme")
	ctx := context.Background()
	if err := db.Tenants().Suspend(ctx, "acme"); err != nil {
		t.Fatalf("suspend with catalog schema of %d bytes: %v", len(schema), err)
	}
	if err := db.Tenants().AddField(ctx, "acme", "note", tenantmap.FieldDef{Name: "sla", Type: "int64", Nullable: true}); err != nil {
		t.Fatalf("add field with catalog schema of %d bytes: %v", len(schema), err)
	}
}

// A poller more than changeLogKeep changes behind (another process prunes
// the log every 100 of its polls) misses the pruned changes without a word:
// the package says such a watcher drops every mapping, but poll never checks
// that the log still holds the change after the last one it read.
func TestReviewPrunedChangeLogMissed(t *testing.T) {
	b := backendNamed(t, "sqlite/table")
	a := b.open(t)
	na, err := tenantmap.Register[Note](a, b.strategy("{tenant}_note"))
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, a, "acme")
	slow := reopenWith(t, a, func(c *tenantmap.Config) { c.Watch, c.PollInterval = tenantmap.WatchPoll, 5*time.Second })
	nb, err := tenantmap.Register[Note](slow, b.strategy("{tenant}_note"))
	if err != nil {
		t.Fatal(err)
	}
	reopenWith(t, a, func(c *tenantmap.Config) { c.Watch, c.PollInterval = tenantmap.WatchPoll, time.Millisecond }) // prunes often
	ctx := tctx("acme")
	n := &Note{Body: "x"}
	if err := na.Insert(ctx, n); err != nil {
		t.Fatal(err)
	}
	if _, err := nb.Get(ctx, n.ID); err != nil { // slow caches acme's mapping
		t.Fatal(err)
	}
	if err := a.Tenants().AddField(context.Background(), "acme", "note", tenantmap.FieldDef{Name: "sla", Type: "int64", Default: 24}); err != nil {
		t.Fatal(err)
	}
	path, _ := sqliteFiles.Load(a)
	raw, err := sql.Open("sqlite", path.(string)+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var acmeSeq int64
	if err := raw.QueryRow("SELECT MAX(seq) FROM " + tenantmap.ChangeTable + " WHERE tenant_id = 'acme'").Scan(&acmeSeq); err != nil {
		t.Fatal(err)
	}
	// Other tenants' changes, as a large migration makes them.
	if _, err := raw.Exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 10100) INSERT INTO " + tenantmap.ChangeTable + " (tenant_id) SELECT 'other' FROM n"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the log pruned past acme's change", func() bool {
		var lo int64
		if err := raw.QueryRow("SELECT MIN(seq) FROM " + tenantmap.ChangeTable).Scan(&lo); err != nil {
			t.Fatal(err)
		}
		return lo > acmeSeq
	})
	if st := slow.WatchStats(); st.Changes != 0 {
		t.Fatalf("setup: the slow process polled before the prune (%+v)", st)
	}
	for start := time.Now(); time.Since(start) < 10*time.Second; time.Sleep(10 * time.Millisecond) {
		got, err := nb.Get(ctx, n.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Extra.Has("sla") {
			return
		}
	}
	t.Fatalf("after 10 s, the slow process (watch stats %+v: it read the log since) still uses acme's mapping from before AddField; its change was pruned unread and no reset followed", slow.WatchStats())
}

// On MySQL, AddField's ADD COLUMN commits at once; when the index after it
// fails (a unique index over rows that all got the default), the column
// stays. A later AddField of that name with another type then finds the
// column "done already" and records the new type over the old column.
func TestReviewMySQLFailedAddFieldLeavesColumn(t *testing.T) {
	b := backendNamed(t, "mysql/table")
	db := b.open(t)
	notes, err := tenantmap.Register[Note](db, b.strategy("{tenant}_note"))
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, db, "acme")
	ctx := context.Background()
	for _, body := range []string{"a", "b"} {
		if err := notes.Insert(tctx("acme"), &Note{Body: body}); err != nil {
			t.Fatal(err)
		}
	}
	err = db.Tenants().AddField(ctx, "acme", "note", tenantmap.FieldDef{Name: "code", Type: "string", Size: 10, Default: "x", Unique: true})
	if err == nil {
		t.Fatal("a unique field with one default over two rows was added")
	}
	if err := db.Tenants().AddField(ctx, "acme", "note", tenantmap.FieldDef{Name: "code", Type: "int64", Nullable: true}); err != nil {
		t.Fatalf("add code int64 after the failed add: %v", err)
	}
	rows, err := notes.Find(tctx("acme"), tenantmap.Query{})
	if err != nil {
		t.Fatalf("the catalog says code is int64, the table holds the failed add's text column: %v", err)
	}
	for _, r := range rows {
		if v := r.Extra.Get("code"); v != nil {
			t.Errorf("row %d: code, added nullable with no default, reads %#v", r.ID, v)
		}
	}
}

// In a shared table, Update writes the whole JSON column: a process whose
// mapping predates another process's AddField (until its next poll)
// erases the new field's values, which in a table of the tenant's own (a
// column the stale Update does not name) survive.
func TestReviewStaleUpdateErasesNewSharedField(t *testing.T) {
	b := backendNamed(t, "sqlite/shared")
	a := b.open(t)
	na, err := tenantmap.Register[Note](a, b.strategy("{tenant}_note"))
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, a, "acme")
	ctx := tctx("acme")
	ts := a.Tenants()
	if err := ts.AddField(context.Background(), "acme", "note", tenantmap.FieldDef{Name: "tag", Type: "string", Nullable: true}); err != nil {
		t.Fatal(err)
	}
	n := &Note{Body: "v1"}
	n.Extra.Set("tag", "vip")
	if err := na.Insert(ctx, n); err != nil {
		t.Fatal(err)
	}
	other := reopenWith(t, a, func(c *tenantmap.Config) { c.Watch, c.PollInterval = tenantmap.WatchPoll, 5*time.Second })
	nb, err := tenantmap.Register[Note](other, b.strategy("{tenant}_note"))
	if err != nil {
		t.Fatal(err)
	}
	seen, err := nb.Get(ctx, n.ID) // the other process's mapping knows tag
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.AddField(context.Background(), "acme", "note", tenantmap.FieldDef{Name: "sla", Type: "int64", Nullable: true}); err != nil {
		t.Fatal(err)
	}
	cur, err := na.Get(ctx, n.ID)
	if err != nil {
		t.Fatal(err)
	}
	cur.Extra.Set("sla", 48)
	if err := na.UpdateColumns(ctx, cur, "sla"); err != nil {
		t.Fatal(err)
	}
	seen.Body = "v2"
	if err := nb.Update(ctx, seen); err != nil {
		t.Fatal(err)
	}
	got, err := na.Get(ctx, n.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Body != "v2" || got.Extra.Get("sla") != int64(48) {
		t.Fatalf("after the other process's Update of body: body %q, sla %#v (want v2, 48: it did not know sla, and erased it)", got.Body, got.Extra.Get("sla"))
	}
}

// A time custom field of a shared table is kept as text in the JSON
// column, in the dialect's JSONTimeLayout; a time with a five-digit year is
// accepted by validation and written, and then no read of the row works.
func TestReviewSharedTimeFieldUnreadable(t *testing.T) {
	for _, name := range []string{"sqlite/shared", "postgres/shared"} {
		t.Run(name, func(t *testing.T) {
			b := backendNamed(t, name)
			db := b.open(t)
			notes, err := tenantmap.Register[Note](db, b.strategy("{tenant}_note"))
			if err != nil {
				t.Fatal(err)
			}
			mustCreate(t, db, "acme")
			if err := db.Tenants().AddField(context.Background(), "acme", "note", tenantmap.FieldDef{Name: "due", Type: "time", Nullable: true}); err != nil {
				t.Fatal(err)
			}
			ctx := tctx("acme")
			n := &Note{Body: "x"}
			due := time.Date(10000, 1, 2, 3, 4, 5, 0, time.UTC)
			n.Extra.Set("due", due)
			if err := notes.Insert(ctx, n); err != nil {
				if errors.Is(err, tenantmap.ErrInvalidRecord) {
					return // refused before any SQL: fine
				}
				t.Fatalf("insert: want nil or ErrInvalidRecord, got %v", err)
			}
			got, err := notes.Get(ctx, n.ID)
			if err != nil {
				t.Fatalf("a time the insert accepted cannot be read back: %v", err)
			}
			if !got.Extra.Time("due").Equal(due) {
				t.Fatalf("due: got %v, want %v", got.Extra.Get("due"), due)
			}
		})
	}
}

// Import reports a file that does not fit the registered models as
// ErrInvalidExport; a custom field in the header that collides with a
// field of the model comes back as ErrInvalidField (an AddField error)
// instead.
func TestReviewImportCustomFieldErrorType(t *testing.T) {
	b := backendNamed(t, "sqlite/table")
	db := b.open(t)
	if _, err := tenantmap.Register[Note](db, b.strategy("{tenant}_note")); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, db, "acme")
	ctx := context.Background()
	if err := db.Tenants().AddField(ctx, "acme", "note", tenantmap.FieldDef{Name: "tag", Type: "string", Nullable: true}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := db.Tenants().Export(ctx, "acme", &buf); err != nil {
		t.Fatal(err)
	}
	file := rewriteExportHeader(t, buf.Bytes(), func(h map[string]any) {
		h["custom"].(map[string]any)["note"].([]any)[0].(map[string]any)["name"] = "body"
	})
	_, err := db.Tenants().Import(ctx, "copy", bytes.NewReader(file))
	if !errors.Is(err, tenantmap.ErrInvalidExport) {
		t.Fatalf("import of a file whose custom field is named as a field of the model: want ErrInvalidExport, got %v", err)
	}
}
