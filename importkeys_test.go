package tenantmap_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tenantmap/tenantmap"
)

// TestImportMaxKeyLeavesOthersKeys: an imported row with a key of max
// int64 cannot use up the generated keys of other tenants of a shared
// table (issue 12 item 7): where the tenants share a sequence it is
// refused with ErrImportKeyRange; everywhere another tenant still inserts.
func TestImportMaxKeyLeavesOthersKeys(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		bg := context.Background()
		db := b.open(t)
		notes, err := tenantmap.Register[isoNote](db, b.strategy("{tenant}_note"), tenantmap.ModelName("note"))
		if err != nil {
			t.Fatal(err)
		}
		mustCreate(t, db, "src", "other")
		if err := notes.Insert(tenantmap.WithTenant(bg, "src"), &isoNote{Owner: "src", Body: "x"}); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if _, err := db.Tenants().Export(bg, "src", &buf); err != nil {
			t.Fatal(err)
		}
		file := strings.Replace(buf.String(), "\n[1,", "\n[9223372036854775807,", 1)
		if file == buf.String() {
			t.Fatalf("the export has no row with key 1:\n%s", buf.String())
		}
		_, err = db.Tenants().Import(bg, "big", strings.NewReader(file))
		switch {
		case err == nil:
		case errors.Is(err, tenantmap.ErrImportKeyRange) && errors.Is(err, tenantmap.ErrInvalidExport):
			if !strings.HasPrefix(b.name, "postgres/shared") && b.name != "pgbouncer/shared" {
				t.Errorf("refused where the tenant has keys of its own: %v", err)
			}
		default:
			t.Fatalf("import: %v", err)
		}
		for i := 0; i < 2; i++ {
			if err := notes.Insert(tenantmap.WithTenant(bg, "other"), &isoNote{Owner: "other"}); err != nil {
				t.Fatalf("another tenant's insert after the import: %v", err)
			}
		}
	})
}
