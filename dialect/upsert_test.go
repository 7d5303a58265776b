package dialect_test

import (
	"testing"

	"github.com/tenantmap/tenantmap/dialect"
	"github.com/tenantmap/tenantmap/dialect/mysql"
	"github.com/tenantmap/tenantmap/dialect/postgres"
	"github.com/tenantmap/tenantmap/dialect/sqlite"
)

// TestUpsertClauses pins each dialect's conflict clause (golden SQL).
func TestUpsertClauses(t *testing.T) {
	target := []string{`"tenant_id"`, `"email"`}
	tests := []struct {
		name     string
		d        dialect.Upserter
		key      string
		nothing  string
		update   string // with a generated key
		inserted string
		enforced bool
	}{
		{"postgres", postgres.Dialect{}, `"id"`,
			` ON CONFLICT ("tenant_id", "email") DO NOTHING`,
			` ON CONFLICT ("tenant_id", "email") DO UPDATE SET `,
			`EXCLUDED."name"`, true},
		{"sqlite", sqlite.Dialect{}, `"id"`,
			` ON CONFLICT ("tenant_id", "email") DO NOTHING`,
			` ON CONFLICT ("tenant_id", "email") DO UPDATE SET `,
			`EXCLUDED."name"`, true},
		{"mysql", mysql.Dialect{}, "`id`",
			" ON DUPLICATE KEY UPDATE `id` = IF(LAST_INSERT_ID(18446744073709551615), `id`, `id`)",
			" ON DUPLICATE KEY UPDATE `id` = LAST_INSERT_ID(`id`), ",
			"VALUES(`name`)", false},
	}
	for _, tt := range tests {
		if got := string(tt.d.AppendOnConflictNothing(nil, target, tt.key)); got != tt.nothing {
			t.Errorf("%s nothing: got %s, want %s", tt.name, got, tt.nothing)
		}
		if got := string(tt.d.AppendOnConflictUpdate(nil, target, tt.key)); got != tt.update {
			t.Errorf("%s update: got %s, want %s", tt.name, got, tt.update)
		}
		col := `"name"`
		if !tt.enforced {
			col = "`name`"
		}
		if got := string(tt.d.AppendInserted(nil, col)); got != tt.inserted {
			t.Errorf("%s inserted: got %s, want %s", tt.name, got, tt.inserted)
		}
		if tt.d.ConflictTargetEnforced() != tt.enforced {
			t.Errorf("%s: ConflictTargetEnforced = %v", tt.name, !tt.enforced)
		}
	}
	// Without a generated key MySQL's update clause adds nothing of its own.
	if got := string(mysql.Dialect{}.AppendOnConflictUpdate(nil, target, "")); got != " ON DUPLICATE KEY UPDATE " {
		t.Errorf("mysql update without a generated key: %q", got)
	}
}
