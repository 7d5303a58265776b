package tenantmap_test

import (
	"context"
	"testing"

	"github.com/tenantmap/tenantmap"
)

// A field dropped and added again gets a new id, also when it was the
// last one added: in a shared table the rows keep values under the old id,
// which must never be read as the new field's.
func TestCustomFieldIDsNeverReused(t *testing.T) {
	for _, name := range []string{"sqlite/shared", "postgres/shared", "mysql/shared"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := backendNamed(t, name)
			db := b.open(t)
			notes, err := tenantmap.Register[Note](db, b.strategy("{tenant}_note"))
			if err != nil {
				t.Fatal(err)
			}
			mustCreate(t, db, "acme")
			ctx, ts := context.Background(), db.Tenants()
			add := func() {
				if err := ts.AddField(ctx, "acme", "note", tenantmap.FieldDef{Name: "sla", Type: "int64", Nullable: true}); err != nil {
					t.Fatal(err)
				}
			}
			add()
			n := &Note{Body: "x"}
			n.Extra.Set("sla", 48)
			if err := notes.Insert(tctx("acme"), n); err != nil {
				t.Fatal(err)
			}
			if err := ts.DropField(ctx, "acme", "note", "sla"); err != nil {
				t.Fatal(err)
			}
			add()
			got, err := notes.Get(tctx("acme"), n.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Extra.IsNull("sla") {
				t.Fatalf("the field added again reads the dropped one's value %v", got.Extra.Get("sla"))
			}
			if c, err := notes.Count(tctx("acme"), tenantmap.Where("sla = ?", 48)); err != nil || c != 0 {
				t.Fatalf("a filter on the field added again finds the dropped one's value: %d, %v", c, err)
			}
		})
	}
}
