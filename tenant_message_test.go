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
