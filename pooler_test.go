package tenantmap_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/tenantmap/tenantmap"
)

// TestParseConfigTransactionPooler: the URL parameter transaction_pooler
// sets Config.TransactionPooler and is not passed to the server.
func TestParseConfigTransactionPooler(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want bool
		err  bool
	}{
		{"postgres://u@h:6432/db?transaction_pooler=true", true, false},
		{"postgres://u@h:6432/db?sslmode=disable&transaction_pooler=1", true, false},
		{"postgresql://u@h:6432/db?transaction_pooler=false&sslmode=disable", false, false},
		{"postgres://u@h:5432/db?sslmode=disable", false, false},
		{"postgres://u@h:6432/db?transaction_pooler=maybe", false, true},
	} {
		cfg, err := tenantmap.ParseConfig(tc.url)
		if tc.err {
			if !errors.Is(err, tenantmap.ErrInvalidURL) {
				t.Errorf("%s: want ErrInvalidURL, got %v", tc.url, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.url, err)
		}
		if cfg.TransactionPooler != tc.want {
			t.Errorf("%s: TransactionPooler %v, want %v", tc.url, cfg.TransactionPooler, tc.want)
		}
		if strings.Contains(cfg.DSN, tenantmap.PoolerParam) {
			t.Errorf("%s: the DSN keeps the parameter: %s", tc.url, cfg.DSN)
		}
	}
}
