package tenantmap_test

import (
	"fmt"
	"testing"

	"github.com/tenantmap/tenantmap"
)

// TestLexerAgainstServers asks each real server where its comments start
// and end, and checks that tenantmap's lexer draws the same lines: a text
// the server skips but tenantmap reads as code would let a {tenant} filter
// be counted where the server never sees it (MariaDB's -- followed by a
// form feed was one), and a text tenantmap skips but the server runs would
// hide a ) from the check that keeps a fragment inside the filter.
//
// Each probe puts "+1" where the lexer's verdict matters: the server
// returns 1 where it is in a comment and something else (2, or an error)
// where it is code; tenantmap is asked the same of "{x}" in its place.
func TestLexerAgainstServers(t *testing.T) {
	opens := []struct {
		name string
		open func(testing.TB) *tenantmap.DB
	}{{"sqlite", sqliteOpen}, {"postgres", postgresOpen}, {"mysql", mysqlOpen}}
	// The bytes tried after -- and inside comments: every control byte,
	// the space, DEL, and plain characters. Characters that start literals,
	// tokens or comments of their own are left to the fuzz targets.
	var probe []byte
	for c := byte(1); c < 0x80; c++ {
		switch {
		case c <= ' ', c == 0x7f, c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '=', c == '%':
			probe = append(probe, c)
		}
	}
	for _, o := range opens {
		t.Run(o.name, func(t *testing.T) {
			t.Parallel()
			db := o.open(t)
			mustCreate(t, db, "lx")
			ctx := tctx("lx")
			// serverSkips reports whether the server reads "+1" in
			// before+"+1"+after as part of a comment.
			serverSkips := func(before, after string) bool {
				var v int64
				err := db.QueryRow(ctx, "SELECT 1 "+before+"+1"+after).Scan(&v)
				return err == nil && v == 1
			}
			lexerSkips := func(before, after string) bool {
				names, err := tenantmap.LexTokens(db, "SELECT 1 "+before+"{x}"+after)
				return err == nil && len(names) == 0
			}
			check := func(what, before, after string) {
				if s, l := serverSkips(before, after), lexerSkips(before, after); s != l {
					t.Errorf("%s: %q … %q: the server skips the text: %v, tenantmap: %v", what, before, after, s, l)
				}
			}
			for _, c := range probe {
				b := string(c)
				check(fmt.Sprintf("-- then %#x", c), "--"+b, "\n")
				check(fmt.Sprintf("-- comment ended by %#x", c), "-- x"+b, "\n")
				check(fmt.Sprintf("# then %#x", c), "#"+b, "\n")
				check(fmt.Sprintf("/* */ holding %#x", c), "/* "+b+" ", " */")
			}
			check("nested /* /* */ */", "/* /* */ ", " */")
			check("-- at the end", "--", "")
			check("/*! */", "/*! ", " */")
			check("/*M! */", "/*M! ", " */")
		})
	}
}
