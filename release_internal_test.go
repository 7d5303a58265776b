package tenantmap

import (
	"context"
	"path/filepath"
	"runtime"
	"testing"
	"weak"
)

// A tenant's mapping and the model it extends with the tenant's custom
// fields are released once the registry drops them: evicted, invalidated,
// or replaced by a rebuild after a change of fields.
func TestMappingsAndModelsReleased(t *testing.T) {
	ctx := context.Background()
	cfg, err := ParseConfig("sqlite:" + filepath.Join(t.TempDir(), "release.db"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.RegistrySize = 2
	cfg.Watch = WatchOff
	cfg.CreateCatalog = true
	db, err := OpenConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	m, err := NewModel(ModelDoc{Name: "ticket", Fields: []FieldDef{{Name: "id", Type: "int64"}, {Name: "title", Type: "text"}}})
	if err != nil {
		t.Fatal(err)
	}
	tickets, err := RegisterModel(db, m, TablePerTenant("{tenant}_ticket"))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b", "c"} {
		if _, err := db.Tenants().Create(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Tenants().AddField(ctx, "a", "ticket", FieldDef{Name: "sla", Type: "int64", Nullable: true}); err != nil {
		t.Fatal(err)
	}
	held := func(id string) (weak.Pointer[mapping], weak.Pointer[Model]) {
		mp, err := db.mapping(ctx, tickets.b, id)
		if err != nil {
			t.Fatal(err)
		}
		if id == "a" && (mp.model == m || mp.model.base != m) {
			t.Fatal("tenant a's mapping does not have a model of its own")
		}
		return weak.Make(mp), weak.Make(mp.model)
	}
	gone := func(what string, p interface{ Value() *mapping }, q interface{ Value() *Model }) {
		t.Helper()
		runtime.GC()
		runtime.GC()
		if p.Value() != nil || q.Value() != nil {
			t.Errorf("%s: the mapping (%v) or its model (%v) is still reachable", what, p.Value() != nil, q.Value() != nil)
		}
	}
	wm, wmodel := held("a")
	if err := db.Tenants().AddField(ctx, "a", "ticket", FieldDef{Name: "due", Type: "time", Nullable: true}); err != nil {
		t.Fatal(err)
	}
	wm2, wmodel2 := held("a") // rebuilt with the new field
	gone("replaced after AddField", wm, wmodel)
	db.Registry().InvalidateTenant("a")
	gone("invalidated", wm2, wmodel2)
	wm3, wmodel3 := held("a")
	held("b")
	held("c") // a third tenant in a registry of 2 evicts a
	if db.Registry().Stats().Evictions == 0 {
		t.Fatal("nothing was evicted")
	}
	gone("evicted", wm3, wmodel3)
	if m.fields[0].column != "id" || len(m.custom) != 0 {
		t.Fatal("the base model was changed")
	}
}
