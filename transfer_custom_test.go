package tenantmap_test

import (
	"context"
	"slices"
	"testing"

	"github.com/tenantmap/tenantmap"
)

// A clone keeps the tenant's custom fields, their values and, in a shared
// table, the ids their values are kept under — also after a field was
// dropped, so that ids and names no longer line up.
func TestCloneKeepsCustomFields(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		if b.name == "postgres/shared-rls" {
			t.Skip("Clone needs no row-level security of its own here; covered by the other shared backends")
		}
		db := b.open(t)
		notes, err := tenantmap.Register[Note](db, b.strategy("{tenant}_note"))
		if err != nil {
			t.Fatal(err)
		}
		mustCreate(t, db, "acme")
		ctx := context.Background()
		ts := db.Tenants()
		for _, f := range []tenantmap.FieldDef{
			{Name: "gone", Type: "int64", Nullable: true},
			{Name: "sla", Type: "int64", Default: 24},
			{Name: "tag", Type: "string", Size: 20, Nullable: true},
		} {
			if err := ts.AddField(ctx, "acme", "note", f); err != nil {
				t.Fatal(err)
			}
		}
		if err := ts.DropField(ctx, "acme", "note", "gone"); err != nil {
			t.Fatal(err)
		}
		n := &Note{Body: "x"}
		n.Extra.Set("sla", 48)
		n.Extra.Set("tag", "vip")
		if err := notes.Insert(tctx("acme"), n); err != nil {
			t.Fatal(err)
		}
		if _, err := ts.Clone(ctx, "acme", "acme2"); err != nil {
			t.Fatal(err)
		}
		want, _ := ts.CustomFields(ctx, "acme", "note")
		got, err := ts.CustomFields(ctx, "acme2", "note")
		if err != nil {
			t.Fatal(err)
		}
		names := func(fs []tenantmap.FieldDef) []string {
			var out []string
			for _, f := range fs {
				out = append(out, f.Name+":"+f.Type)
			}
			return out
		}
		if !slices.Equal(names(want), names(got)) {
			t.Fatalf("clone's custom fields %v, want %v", names(got), names(want))
		}
		c, err := notes.First(tctx("acme2"), tenantmap.Query{}) // a shared table may renew keys
		if err != nil {
			t.Fatal(err)
		}
		if c.Extra.Int64("sla") != 48 || c.Extra.String("tag") != "vip" || c.Extra.Has("gone") {
			t.Fatalf("clone's row: %v", c.Extra.Names())
		}
		rows, err := notes.Find(tctx("acme2"), tenantmap.Where("tag = ?", "vip"))
		if err != nil || len(rows) != 1 {
			t.Fatalf("filter on the clone's custom field: %d rows, %v", len(rows), err)
		}
	})
}
