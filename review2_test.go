package tenantmap_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/tenantmap/tenantmap"
)

// Update of a shared table's row with several custom fields of every kind:
// every value is written and read back as set, on every shared backend.
func TestReview2SharedUpdateCustomKinds(t *testing.T) {
	for _, name := range []string{"sqlite/shared", "postgres/shared", "postgres/shared-rls", "pgbouncer/shared", "mysql/shared"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := backendNamed(t, name)
			db := b.open(t)
			notes, err := tenantmap.Register[Note](db, b.strategy("{tenant}_note"))
			if err != nil {
				t.Fatal(err)
			}
			mustCreate(t, db, "acme", "beta")
			for _, fd := range []tenantmap.FieldDef{
				{Name: "tag", Type: "string", Nullable: true},
				{Name: "sla", Type: "int64", Nullable: true},
				{Name: "score", Type: "float64", Nullable: true},
				{Name: "vip", Type: "bool", Nullable: true},
				{Name: "due", Type: "time", Nullable: true},
				{Name: "blob", Type: "bytes", Nullable: true},
				{Name: "meta", Type: "json", Nullable: true},
			} {
				if err := db.Tenants().AddField(context.Background(), "acme", "note", fd); err != nil {
					t.Fatal(err)
				}
			}
			ctx := tctx("acme")
			n := &Note{Body: "v1"}
			n.Extra.Set("tag", "a")
			if err := notes.Insert(ctx, n); err != nil {
				t.Fatal(err)
			}
			due := time.Date(2024, 5, 6, 7, 8, 9, 123000, time.UTC)
			n.Body = "v2"
			n.Extra.Set("tag", `q"uo'te`)
			n.Extra.Set("sla", int64(48))
			n.Extra.Set("score", 2.5)
			n.Extra.Set("vip", true)
			n.Extra.Set("due", due)
			n.Extra.Set("blob", []byte{0, 1, 2, 255})
			if err := n.Extra.SetJSON("meta", map[string]any{"k": []int{1, 2}}); err != nil {
				t.Fatal(err)
			}
			if err := notes.Update(ctx, n); err != nil {
				t.Fatalf("update: %v", err)
			}
			got, err := notes.Get(ctx, n.ID)
			if err != nil {
				t.Fatalf("get: %v", err)
			}
			if got.Body != "v2" || got.Extra.Get("tag") != `q"uo'te` || got.Extra.Get("sla") != int64(48) ||
				got.Extra.Get("score") != 2.5 || got.Extra.Get("vip") != true || !got.Extra.Time("due").Equal(due) ||
				!bytes.Equal(got.Extra.Bytes("blob"), []byte{0, 1, 2, 255}) {
				t.Fatalf("after update: body %q, extra %v", got.Body, got.Extra.Names())
			}
			var meta map[string]any
			if err := got.Extra.Decode("meta", &meta); err != nil {
				t.Fatalf("meta: %v (%#v)", err, got.Extra.Get("meta"))
			}
			if mj, _ := json.Marshal(meta); string(mj) != `{"k":[1,2]}` {
				t.Fatalf("meta: %s", mj)
			}
			// Set back to NULL.
			got.Extra.SetNull("sla")
			got.Extra.SetNull("meta")
			if err := notes.Update(ctx, got); err != nil {
				t.Fatalf("update 2: %v", err)
			}
			g2, err := notes.Get(ctx, n.ID)
			if err != nil {
				t.Fatal(err)
			}
			if g2.Extra.Get("sla") != nil || g2.Extra.Get("meta") != nil || g2.Extra.Get("tag") != `q"uo'te` {
				t.Fatalf("after nulling: sla %#v meta %#v tag %#v", g2.Extra.Get("sla"), g2.Extra.Get("meta"), g2.Extra.Get("tag"))
			}
			rows, err := notes.Find(ctx, tenantmap.Where("vip = ? AND sla IS NULL", true))
			if err != nil || len(rows) != 1 {
				t.Fatalf("find vip: %d rows, %v", len(rows), err)
			}
		})
	}
}

// Import accepts any id idNumber accepts (up to 12 characters); with the
// largest number, the next id newCustomID makes is 13 characters, which
// idNumber (and so extend) refuses: the imported tenant can add no field.
func TestReview2ImportedIDBlocksAddField(t *testing.T) {
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
		h["custom"].(map[string]any)["note"].([]any)[0].(map[string]any)["id"] = "f9999999999s"
	})
	if _, err := db.Tenants().Import(ctx, "copy", bytes.NewReader(file)); err != nil {
		if errors.Is(err, tenantmap.ErrInvalidExport) {
			return
		}
		t.Fatal(err)
	}
	if err := db.Tenants().AddField(ctx, "copy", "note", tenantmap.FieldDef{Name: "sla", Type: "int64", Nullable: true}); err != nil {
		t.Fatalf("import accepted id f9999999999s; AddField then fails: %v", err)
	}
}
