package tenantmap_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tenantmap/tenantmap"
)

// TestTenantIDEdgeMessage: an id beginning or ending with '_' or '-' is
// told where those may go, not that they are not allowed.
func TestTenantIDEdgeMessage(t *testing.T) {
	for id, want := range map[string]string{"acme_": "must end with a letter or a digit", "acme-": "must end with a letter or a digit",
		"_acme": "must begin with a letter or a digit", "-": "must begin with a letter or a digit"} {
		err := tenantmap.ValidateTenantID(id)
		if !errors.Is(err, tenantmap.ErrInvalidTenantID) || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "is not allowed") {
			t.Errorf("%q: want %q, got %v", id, want, err)
		}
	}
}

// TestSchemaPlacementOnMySQLMessage: placing a tenant by schema on MySQL
// says to use DatabasePerTenant (a schema is a database there), under one
// "tenantmap: " prefix.
func TestSchemaPlacementOnMySQLMessage(t *testing.T) {
	db := mysqlOpen(t)
	type Note struct {
		ID   int64
		Body string
	}
	if _, err := tenantmap.Register[Note](db, tenantmap.TablePerTenant("{tenant}_note")); err != nil {
		t.Fatal(err)
	}
	_, err := db.Tenants().Create(context.Background(), "acme", tenantmap.WithPlacement(tenantmap.SchemaPerTenant("")))
	if !errors.Is(err, tenantmap.ErrInvalidModel) {
		t.Fatalf("want ErrInvalidModel, got %v", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "use DatabasePerTenant") || strings.Contains(msg, "use TablePerTenant") || strings.Count(msg, "tenantmap: ") != 1 {
		t.Errorf("want one prefix and DatabasePerTenant named, got %q", msg)
	}
}

// TestPlacementModelToken: one placement template with {model} places each
// model in a table of its own (issue 12 item 18); a schema or database
// template refuses it.
func TestPlacementModelToken(t *testing.T) {
	for _, be := range []struct {
		name string
		open func(testing.TB) *tenantmap.DB
	}{{"sqlite", sqliteOpen}, {"postgres", postgresOpen}, {"mysql", mysqlOpen}} {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			db := be.open(t)
			type Note struct {
				ID   int64
				Body string
			}
			type Tag struct {
				ID   int64
				Name string
			}
			notes, err := tenantmap.Register[Note](db, tenantmap.TablePerTenant("{tenant}_note"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tenantmap.Register[Tag](db, tenantmap.TablePerTenant("{tenant}_tag")); err != nil {
				t.Fatal(err)
			}
			s, err := tenantmap.ParseStrategy("table:x_{tenant}_{model}")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.Tenants().Create(ctx, "acme", tenantmap.WithPlacement(s)); err != nil {
				t.Fatal(err)
			}
			ps, err := db.Tenants().Placements(ctx, "acme")
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, p := range ps {
				got[p.Model] = p.Table
			}
			if got["note"] != "x_acme_note" || got["tag"] != "x_acme_tag" {
				t.Errorf("placements: %+v", ps)
			}
			if err := notes.Insert(tenantmap.WithTenant(ctx, "acme"), &Note{Body: "hi"}); err != nil {
				t.Fatal(err)
			}
			_, err = db.Tenants().Create(ctx, "globex", tenantmap.WithPlacement(tenantmap.DatabasePerTenant("{tenant}_{model}")))
			if !errors.Is(err, tenantmap.ErrInvalidModel) || !strings.Contains(err.Error(), "cannot contain {model}") {
				t.Errorf("a database template with {model}: %v", err)
			}
		})
	}
}
