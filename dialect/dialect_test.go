package dialect_test

import (
	"testing"

	"github.com/tenantmap/tenantmap/dialect"
	"github.com/tenantmap/tenantmap/dialect/mysql"
	"github.com/tenantmap/tenantmap/dialect/postgres"
	"github.com/tenantmap/tenantmap/dialect/sqlite"
)

func TestAppendLimit(t *testing.T) {
	tests := []struct {
		d             dialect.Dialect
		limit, offset int
		want          string
	}{
		{postgres.Dialect{}, -1, 0, ""},
		{postgres.Dialect{}, 5, 0, " LIMIT 5"},
		{postgres.Dialect{}, -1, 7, " OFFSET 7"},
		{postgres.Dialect{}, 0, 7, " LIMIT 0 OFFSET 7"},
		{sqlite.Dialect{}, -1, 0, ""},
		{sqlite.Dialect{}, -1, 7, " LIMIT -1 OFFSET 7"},
		{sqlite.Dialect{}, 5, 7, " LIMIT 5 OFFSET 7"},
		{mysql.Dialect{}, -1, 0, ""},
		{mysql.Dialect{}, -1, 7, " LIMIT 18446744073709551615 OFFSET 7"},
		{mysql.Dialect{}, 5, 0, " LIMIT 5"},
	}
	for _, tt := range tests {
		if got := string(tt.d.AppendLimit(nil, tt.limit, tt.offset)); got != tt.want {
			t.Errorf("%s AppendLimit(%d, %d) = %q, want %q", tt.d.Name(), tt.limit, tt.offset, got, tt.want)
		}
	}
}

func TestMySQLVersionFlags(t *testing.T) {
	tests := []struct {
		version               string
		returning, nativeUUID bool
	}{
		{"10.11.19-MariaDB-0+deb12u1", true, true},
		{"10.6.12-MariaDB", true, false},
		{"10.4.30-MariaDB", false, false},
		{"11.0.2-MariaDB", true, true},
		{"8.4.2", false, false},
		{"garbage-MariaDB", false, false},
	}
	for _, tt := range tests {
		d := mysql.New(tt.version)
		if d.Returning != tt.returning || d.NativeUUID != tt.nativeUUID {
			t.Errorf("New(%q) = %+v, want Returning=%v NativeUUID=%v", tt.version, d, tt.returning, tt.nativeUUID)
		}
		if got := d.ColumnType(dialect.Column{Kind: dialect.UUID}); (got == "UUID") != tt.nativeUUID {
			t.Errorf("New(%q): uuid column %q", tt.version, got)
		}
	}
}

func TestMySQLStringColumns(t *testing.T) {
	d := mysql.Dialect{}
	for _, tt := range []struct {
		c    dialect.Column
		want string
	}{
		{dialect.Column{Kind: dialect.String}, "LONGTEXT"},
		{dialect.Column{Kind: dialect.String, Indexed: true}, "VARCHAR(255)"},
		{dialect.Column{Kind: dialect.String, Size: 40}, "VARCHAR(40)"},
		{dialect.Column{Kind: dialect.Int64, AutoPK: true}, "BIGINT AUTO_INCREMENT PRIMARY KEY"},
	} {
		if got := d.ColumnType(tt.c); got != tt.want {
			t.Errorf("ColumnType(%+v) = %q, want %q", tt.c, got, tt.want)
		}
	}
}

func TestQuote(t *testing.T) {
	for _, tt := range []struct {
		d     dialect.Dialect
		in    string
		quote string
	}{
		{postgres.Dialect{}, `a"b`, `"a""b"`},
		{sqlite.Dialect{}, `a"b`, "`a\"b`"},
		{sqlite.Dialect{}, "a`b", "`a``b`"},
		{mysql.Dialect{}, "a`b", "`a``b`"},
		{mysql.Dialect{}, `a"b`, "`a\"b`"},
	} {
		if got := dialect.Quote(tt.d, tt.in); got != tt.quote {
			t.Errorf("%s Quote(%q) = %s, want %s", tt.d.Name(), tt.in, got, tt.quote)
		}
	}
}
