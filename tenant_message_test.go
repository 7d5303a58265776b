package tenantmap_test

import (
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
