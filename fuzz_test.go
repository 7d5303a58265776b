package tenantmap

import (
	"time"

	"errors"
	"fmt"
	"github.com/go-sql-driver/mysql"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/tenantmap/tenantmap/dialect"
)

// Run a target with: go test -run XXX -fuzz FuzzTenantID -fuzztime 20s .
// Without -fuzz the seeds run as ordinary tests.

// splitQuotedIdents reads s as one or more double-quoted identifiers ("" in
// one stands for a ") separated by single dots, and returns them decoded. It
// is deliberately written apart from the dialect code: it is how a server
// reads a qualified name, and anything else in s is an error.
func splitQuotedIdents(s string) ([]string, error) {
	var out []string
	i := 0
	for {
		if i >= len(s) || s[i] != '"' && s[i] != '`' {
			return nil, fmt.Errorf("byte %d of %q: want an opening '\"' or '`'", i, s)
		}
		q := s[i]
		i++
		var b strings.Builder
		for {
			if i >= len(s) {
				return nil, fmt.Errorf("%q: unterminated identifier", s)
			}
			if s[i] == q {
				if i+1 < len(s) && s[i+1] == q {
					b.WriteByte(q)
					i += 2
					continue
				}
				i++
				break
			}
			b.WriteByte(s[i])
			i++
		}
		out = append(out, b.String())
		if i == len(s) {
			return out, nil
		}
		if s[i] != '.' {
			return nil, fmt.Errorf("byte %d of %q: want '.' or the end after an identifier", i, s)
		}
		i++
	}
}

func TestFuzzSplitQuotedIdents(t *testing.T) {
	tests := []struct {
		in   string
		want []string // nil: an error
	}{
		{`"a"`, []string{"a"}},
		{`"a"."b"`, []string{"a", "b"}},
		{`"a""b"`, []string{`a"b`}},
		{`""""`, []string{`"`}},
		{`""`, []string{""}},
		{`"a.b"`, []string{"a.b"}},
		{`a`, nil},
		{`"a"b`, nil},
		{`"a".`, nil},
		{`"a".."b"`, nil},
		{`"a" ."b"`, nil},
		{`"a`, nil},
		{`"a"""`, []string{`a"`}},
		{`"a""`, nil},
		{``, nil},
	}
	for _, tt := range tests {
		got, err := splitQuotedIdents(tt.in)
		if tt.want == nil {
			if err == nil {
				t.Errorf("splitQuotedIdents(%q) = %q, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("splitQuotedIdents(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// tenantIDPattern is the documented pattern, written again from the doc
// comment of ValidateTenantID.
var tenantIDPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9_-]*[a-z0-9])?$`)

var hashRE = regexp.MustCompile(`^[0-9a-f]{10}$`)

func documentedTenantID(id string) bool {
	return len(id) <= 63 && tenantIDPattern.MatchString(id) &&
		!strings.HasPrefix(id, "pg_") && !strings.HasPrefix(id, "sqlite_") &&
		id != "public" && id != "information_schema"
}

// stringSeeds are hostile strings every string target starts from.
func stringSeeds() []string {
	return []string{
		"", " ", "acme", "a", "0", "a1", "acme-corp", "acme_corp", "a-", "-a", "_a", "a_", "a--b",
		"Acme", "ACME", "a b", "a;b", "a'b", `a"b`, "`", "a`b", `"`, `""`, "'", ";", "--", "/*", "*/",
		"a.b", "a\\b", "a\x00b", "\x00", "a\nb", "a\tb", "\r", "?", "??", "$$", "$1", "{case}",
		"pg_x", "pg-x", "pg", "pgx", "sqlite_x", "sqlite", "public", "information_schema", "pg_catalog",
		"ünïcode", "日本", "\u200bacme", "acme\u00a0", "\xff\xfe", "a\u0301",
		strings.Repeat("a", 58), strings.Repeat("a", 59), strings.Repeat("a", 63), strings.Repeat("a", 64),
		strings.Repeat("a", 62) + "-", strings.Repeat("x", 10*1024),
		"'; DROP TABLE acme_case; --", `x"; DROP TABLE "acme_case"; --`,
	}
}

func FuzzTenantID(f *testing.F) {
	for _, s := range stringSeeds() {
		f.Add(s)
	}
	type fuzzCase struct {
		ID    int64
		Title string
	}
	m, err := compileModel(reflect.TypeFor[fuzzCase](), "case")
	if err != nil {
		f.Fatal(err)
	}
	strategies := []Strategy{TablePerTenant("{tenant}_case"), SchemaPerTenant("")}
	f.Fuzz(func(t *testing.T, id string) {
		err := ValidateTenantID(id)
		if want := documentedTenantID(id); (err == nil) != want {
			t.Fatalf("ValidateTenantID(%q) = %v; the documented pattern says valid=%v", id, err, want)
		}
		if err != nil {
			if !errors.Is(err, ErrInvalidTenantID) {
				t.Fatalf("ValidateTenantID(%q): error does not wrap ErrInvalidTenantID: %v", id, err)
			}
			return
		}
		if len(id) == 0 || len(id) > 63 {
			t.Fatalf("accepted an id of %d bytes", len(id))
		}
		for _, d := range []dialect.Dialect{pgDialect, sqliteDialect} {
			for _, s := range strategies {
				mp, err := renderFor(t, d, m, s, id)
				if s.kind == schemaPerTenant && d.Features()&dialect.Schemas == 0 {
					if !errors.Is(err, ErrInvalidModel) {
						t.Fatalf("%s on %s: err = %v, want ErrInvalidModel", s, d.Name(), err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s on %s: %v", s, d.Name(), err)
				}
				limit := d.MaxIdentifierLength()
				resolved, _ := s.resolve(m, d)
				key := tenantKey(id, resolved.staticLen(), limit)

				// The key is the id, or when that would not fit, a prefix of
				// it, '_' and 10 hex digits.
				room := limit - resolved.staticLen()
				if len(id) <= room {
					if key != id {
						t.Fatalf("%s on %s: key %q for id %q that fits", s, d.Name(), key, id)
					}
				} else if len(key) != room || !strings.HasPrefix(id, key[:room-11]) || key[room-11] != '_' ||
					!hashRE.MatchString(key[room-10:]) {
					t.Fatalf("%s on %s: key %q for id %q does not have the shortened form", s, d.Name(), key, id)
				}

				var wantSchema, wantTable, tenantName string
				switch s.kind {
				case tablePerTenant:
					if d.Features()&dialect.Schemas != 0 {
						wantSchema = "public"
					}
					wantTable = key + "_case"
					tenantName = mp.table
				case schemaPerTenant:
					wantSchema, wantTable = key, "case"
					tenantName = mp.schema
				}
				if mp.schema != wantSchema || mp.table != wantTable {
					t.Fatalf("%s on %s, id %q: physical %q.%q, want %q.%q", s, d.Name(), id, mp.schema, mp.table, wantSchema, wantTable)
				}
				if !strings.Contains(tenantName, key) {
					t.Fatalf("%s on %s: name %q does not contain the tenant key %q", s, d.Name(), tenantName, key)
				}
				reserved := false
				for _, name := range []string{mp.schema, mp.table} {
					if len(name) > limit {
						t.Fatalf("%s on %s: physical name %q is %d bytes, the limit is %d", s, d.Name(), name, len(name), limit)
					}
					reserved = reserved || d.ReservedPrefix(name)
				}
				// Provisioning refuses a name the server reserves (id "pg"
				// with "{tenant}_case" gives pg_case) and otherwise creates
				// exactly this table.
				db := &DB{dialect: d, cfg: Config{Schema: mp.schema}}
				if s.kind == schemaPerTenant {
					db.cfg.Schema = "public"
				}
				prov, err := db.provisionDDL([]*binding{{model: m, strategy: resolved}}, key)
				stmts := prov.stmts
				switch {
				case reserved:
					if !errors.Is(err, ErrInvalidTenantID) {
						t.Fatalf("%s on %s: id %q gives a reserved name %q.%q; provisioning: %v", s, d.Name(), id, mp.schema, mp.table, err)
					}
				case err != nil:
					t.Fatalf("%s on %s: provisioning id %q: %v", s, d.Name(), id, err)
				default:
					var creates int
					for _, st := range stmts {
						if strings.HasPrefix(st.sql, "CREATE TABLE "+mp.qtable+" (") {
							creates++
						}
					}
					if creates != 1 {
						t.Fatalf("%s on %s: provisioning does not create %s once: %q", s, d.Name(), mp.qtable, stmts)
					}
				}

				want := []string{wantTable}
				if wantSchema != "" {
					want = []string{wantSchema, wantTable}
				}
				got, err := splitQuotedIdents(mp.qtable)
				if err != nil {
					t.Fatalf("%s on %s: qtable %q: %v", s, d.Name(), mp.qtable, err)
				}
				if !slices.Equal(got, want) {
					t.Fatalf("%s on %s: qtable %q reads as %q, want %q", s, d.Name(), mp.qtable, got, want)
				}
				for _, stmt := range []string{mp.selectSQL, mp.getSQL, mp.insertSQL, mp.updateSQL, mp.deleteSQL, mp.countSQL} {
					if !strings.Contains(stmt, " "+mp.qtable+" ") && !strings.HasSuffix(stmt, " "+mp.qtable) {
						t.Fatalf("%s on %s: statement %q does not name %s", s, d.Name(), stmt, mp.qtable)
					}
				}
			}
		}
	})
}

func FuzzQuoteIdent(f *testing.F) {
	for _, s := range stringSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.IndexByte(s, 0) >= 0 {
			t.Skip("NUL cannot be in an identifier")
		}
		for _, d := range []dialect.Dialect{pgDialect, sqliteDialect} {
			q := dialect.Quote(d, s)
			got, err := splitQuotedIdents(q)
			if err != nil {
				t.Fatalf("%s: Quote(%q) = %q: %v", d.Name(), s, q, err)
			}
			if len(got) != 1 || got[0] != s {
				t.Fatalf("%s: Quote(%q) = %q reads back as %q", d.Name(), s, q, got)
			}
			// AppendIdent appends and leaves what was there.
			b := d.AppendIdent([]byte(`"x".`), s)
			if string(b) != `"x".`+q {
				t.Fatalf("%s: AppendIdent after a prefix = %q, want %q", d.Name(), b, `"x".`+q)
			}
			if got, err := splitQuotedIdents(string(b)); err != nil || !slices.Equal(got, []string{"x", s}) {
				t.Fatalf("%s: %q reads as %q, %v", d.Name(), b, got, err)
			}
		}
	})
}

// countingDialect records the placeholder numbers rebind asks for and
// renders them as nothing, so the text around them can be compared.
type countingDialect struct {
	dialect.Dialect
	calls *[]int
}

func (c countingDialect) AppendPlaceholder(b []byte, n int) []byte {
	*c.calls = append(*c.calls, n)
	return b
}

func FuzzRebind(f *testing.F) {
	for _, s := range stringSeeds() {
		f.Add(s, uint8(0))
	}
	for _, s := range []string{
		"a = ?", "a = ? AND b = ?", "a = '?' AND b = ?", `"?" = ?`, "E'\\'?' = ?", "e'\\\\' = ?",
		"$$?$$ = ?", "$t$ ? $t$ = ?", "$t$ ? $u$", "-- ?\n?", "/* ? */ ?", "?? ?", "???", "a ?| b",
		"a = ?; DROP TABLE x", "a = ';' AND ?", "'", "E'", "$$", "/*", "{case} ?", "{Case} ?", "{} ?",
		"a = ? -- c", "?\r;", "`?` ?",
	} {
		f.Add(s, uint8(2))
	}
	f.Fuzz(func(t *testing.T, s string, nprior uint8) {
		// How many placeholders the scanner finds, and whether the fragment
		// is one rebind must refuse whatever the arguments.
		n, refused := 0, false
		endsInComment, scanErr := scanSQL(s, pgDialect.Syntax(), func(tok sqlToken) error {
			switch tok.kind {
			case tokPlaceholder:
				n++
			case tokSemicolon, tokTable:
				refused = true
			}
			return nil
		})
		if scanErr != nil && !errors.Is(scanErr, ErrInvalidQuery) {
			t.Fatalf("scanSQL(%q): error does not wrap ErrInvalidQuery: %v", s, scanErr)
		}
		prior := intArgs(int(nprior))
		frag := make([]any, n)
		for i := range frag {
			frag[i] = fmt.Sprintf("arg%d", i)
		}

		var calls []int
		cd := countingDialect{Dialect: pgDialect, calls: &calls}
		out, args, err := rebind([]byte("P"), cd, s, frag, slices.Clone(prior))
		if scanErr != nil || refused {
			if err == nil {
				t.Fatalf("rebind(%q) succeeded; the scanner says it must be refused (%v)", s, scanErr)
			}
		}
		if err != nil {
			if !errors.Is(err, ErrInvalidQuery) {
				t.Fatalf("rebind(%q): error does not wrap ErrInvalidQuery: %v", s, err)
			}
			if scanErr == nil && !refused {
				t.Fatalf("rebind(%q) with %d args for %d placeholders: %v", s, n, n, err)
			}
		} else {
			// One placeholder emitted per argument consumed, numbered on
			// from the arguments already bound.
			if len(calls) != n {
				t.Fatalf("rebind(%q): %d placeholders emitted for %d args", s, len(calls), n)
			}
			for i, c := range calls {
				if c != int(nprior)+i+1 {
					t.Fatalf("rebind(%q): placeholder %d numbered %d, want %d", s, i, c, int(nprior)+i+1)
				}
			}
			if want := append(slices.Clone(prior), frag...); !slices.Equal(args, want) {
				t.Fatalf("rebind(%q): args %v, want %v", s, args, want)
			}
			// Only '?' are rewritten; every other byte is copied in order.
			if !strings.HasPrefix(string(out), "P") {
				t.Fatalf("rebind(%q) dropped the bytes before it: %q", s, out)
			}
			got := string(out[1:])
			if endsInComment {
				// A trailing -- comment is ended so it cannot swallow what follows.
				if !strings.HasSuffix(got, "\n") {
					t.Fatalf("rebind(%q) left a trailing comment open: %q", s, out)
				}
				got = got[:len(got)-1]
			}
			if got, want := strings.ReplaceAll(got, "?", ""), strings.ReplaceAll(s, "?", ""); got != want {
				t.Fatalf("rebind(%q) changed more than placeholders: %q", s, out)
			}
		}

		// Wrong argument counts are refused, never panic.
		for _, k := range []int{n - 1, n + 1} {
			if k < 0 {
				continue
			}
			if _, _, err := rebind(nil, pgDialect, s, intArgs(k), nil); err == nil {
				t.Fatalf("rebind(%q) accepted %d args for %d placeholders", s, k, n)
			}
		}
		// The real PostgreSQL dialect agrees with the counting one (which
		// has its syntax); SQLite lexes differently (backticks, brackets, no
		// E'' or dollar quotes), so it only has to fail cleanly.
		if _, args2, err2 := rebind(nil, pgDialect, s, frag, slices.Clone(prior)); (err2 == nil) != (err == nil) || (err2 == nil && len(args2) != len(args)) {
			t.Fatalf("rebind(%q) on postgres: %v, %d args; counting dialect: %v, %d args", s, err2, len(args2), err, len(args))
		}
		if _, _, err2 := rebind(nil, sqliteDialect, s, frag, slices.Clone(prior)); err2 != nil && !errors.Is(err2, ErrInvalidQuery) {
			t.Fatalf("rebind(%q) on sqlite: error does not wrap ErrInvalidQuery: %v", s, err2)
		}
	})
}

// passwordRE finds key=value passwords in pgx's key/value DSN form.
var passwordRE = regexp.MustCompile(`password\s*=\s*'?([^\s']+)`)

// secretsIn returns the passwords s carries, as URL user info or as
// key=value pairs.
func secretsIn(s string) []string {
	var out []string
	for _, m := range passwordRE.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	if u, err := url.Parse(s); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok {
			out = append(out, p)
		}
	}
	return out
}

func FuzzParseConfig(f *testing.F) {
	for _, s := range stringSeeds() {
		f.Add(s)
	}
	for _, s := range []string{
		"sqlite:app.db", "sqlite:/abs/path/app.db", "sqlite://app.db", "sqlite3:x.db", "file:x.db?mode=memory",
		"sqlite::memory:", "sqlite:", "sqlite:?x=1", "sqlite://", "sqlite:app.db?_pragma=busy_timeout(5000)",
		"postgres://user@localhost:5432/db?sslmode=disable", "postgresql://u:p@h/db", "postgres://",
		"postgres:host=localhost user=u dbname=d sslmode=disable", "postgres:host=", "postgres://h:notaport/db",
		"postgres://u:secretpw@h:99999/db", "postgres://[::1", "postgres://%zz", "postgres:password='a b",
		"mysql://u:secretpw@h/db", "http://x", ":", "://", "no-scheme",
		"host=db user=app password=hunter2", "host=db password=hunter2 port=5432 target_session_attrs=read-write:x",
		"user=app password='hunter2' host=db",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cfg, err := ParseConfig(s)
		if err != nil {
			if cfg != nil {
				t.Fatalf("ParseConfig(%q) returned a config with an error", s)
			}
			if !errors.Is(err, ErrInvalidURL) {
				t.Fatalf("ParseConfig(%q): error does not wrap ErrInvalidURL: %v", s, err)
			}
			if !strings.HasPrefix(err.Error(), "tenantmap: ") {
				t.Fatalf("ParseConfig(%q): error not prefixed: %v", s, err)
			}
			// A password never shows in tenantmap's own messages. (pgx's
			// parse errors, for postgres: URLs, redact on a best-effort
			// basis of their own.)
			if !strings.HasPrefix(s, "postgres:") && !strings.HasPrefix(s, "postgresql:") {
				for _, pw := range secretsIn(s) {
					if len(pw) >= 4 && strings.Count(s, pw) == 1 && strings.Contains(err.Error(), pw) {
						t.Fatalf("ParseConfig(%q): the error shows the password %q: %v", s, pw, err)
					}
				}
			}
			return
		}
		switch cfg.Driver {
		case "sqlite":
			if cfg.DSN == "" || strings.HasPrefix(cfg.DSN, "?") {
				t.Fatalf("ParseConfig(%q): sqlite without a file: %q", s, cfg.DSN)
			}
			if !strings.HasSuffix(s, cfg.DSN) {
				t.Fatalf("ParseConfig(%q): DSN %q is not the URL's path", s, cfg.DSN)
			}
		case "postgres":
			if cfg.Schema != "" {
				t.Fatalf("ParseConfig(%q): schema %q, want the default (empty: public)", s, cfg.Schema)
			}
			if _, err := pgxpool.ParseConfig(cfg.DSN); err != nil {
				t.Fatalf("ParseConfig(%q) accepted a DSN pgx refuses: %v", s, err)
			}
		case "mysql":
			c, err := mysql.ParseDSN(cfg.DSN)
			if err != nil {
				t.Fatalf("ParseConfig(%q) made a DSN the driver refuses: %q: %v", s, cfg.DSN, err)
			}
			if !c.ParseTime || c.Loc != time.UTC || !c.ClientFoundRows || c.MultiStatements {
				t.Fatalf("ParseConfig(%q): DSN %q lacks tenantmap's driver settings", s, cfg.DSN)
			}
		default:
			t.Fatalf("ParseConfig(%q): driver %q", s, cfg.Driver)
		}
	})
}
