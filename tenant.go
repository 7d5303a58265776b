package tenantmap

import (
	"context"
	"fmt"
	"strconv"
)

// MaxTenantIDLength is the longest tenant id accepted, in bytes.
const MaxTenantIDLength = 63

// ValidateTenantID reports whether id is a valid tenant id, and if not, why,
// as an error wrapping ErrInvalidTenantID.
//
// A tenant id is 1 to 63 bytes of lowercase ASCII letters, digits, '_' and
// '-', beginning and ending with a letter or a digit. It may not begin with
// "pg_" or "sqlite_" (names the servers reserve), nor be "public" or
// "information_schema" (schemas every PostgreSQL database has). Lowercase
// only, so two ids never differ by case alone, which some servers and file
// systems would merge.
//
// The id is never concatenated into SQL: physical names derived from it are
// always quoted by the dialect. The pattern is there so ids stay readable in
// table and schema names, and so no id can look like something else.
func ValidateTenantID(id string) error {
	if id == "" {
		return fmt.Errorf("%w: empty", ErrInvalidTenantID)
	}
	if len(id) > MaxTenantIDLength {
		return fmt.Errorf("%w: %d bytes long, at most %d allowed", ErrInvalidTenantID, len(id), MaxTenantIDLength)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '_' || c == '-') && i > 0 && i < len(id)-1:
		case c == '_' || c == '-':
			end := "begin"
			if i > 0 {
				end = "end"
			}
			return fmt.Errorf("%w: %s: must %s with a letter or a digit (a-z, 0-9); '_' and '-' are allowed only inside",
				ErrInvalidTenantID, strconv.Quote(id), end)
		default:
			return fmt.Errorf("%w: %s: byte %d (%s) is not allowed; use a-z, 0-9, and '_' or '-' inside",
				ErrInvalidTenantID, strconv.Quote(id), i, strconv.QuoteRune(rune(c)))
		}
	}
	switch {
	case hasPrefix(id, "pg_"), hasPrefix(id, "sqlite_"):
		return fmt.Errorf("%w: %q: the prefix is reserved by the database server", ErrInvalidTenantID, id)
	case id == "public", id == "information_schema":
		return fmt.Errorf("%w: %q is a reserved schema name", ErrInvalidTenantID, id)
	}
	return nil
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }

type ctxTenantKey struct{}

// WithTenant returns a context that carries the tenant id. Every table call
// made with it works on that tenant's data only. The id is validated when the
// context is used, not here, so WithTenant never fails.
func WithTenant(ctx context.Context, tenantID string) context.Context {
	return context.WithValue(ctx, ctxTenantKey{}, tenantID)
}

// TenantFrom returns the tenant id the context carries, if any.
func TenantFrom(ctx context.Context) (string, bool) {
	id, ok := ctx.Value(ctxTenantKey{}).(string)
	return id, ok
}
