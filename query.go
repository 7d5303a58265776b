package tenantmap

import (
	"fmt"
	"strings"

	"github.com/tenantmap/tenantmap/dialect"
)

// Query selects rows of one tenant's table: filters, order, limit, offset.
// Queries are values; each method returns a new Query and leaves its
// receiver as it was. The zero Query selects every row.
//
// Filters are SQL fragments written by the programmer, with ? for each
// value; the values always travel as bind parameters. Write ?? for a
// literal question mark (PostgreSQL's jsonb ? operator). Order is given by
// column names, checked against the model, so a sort key taken from a
// request cannot inject SQL.
type Query struct {
	where  []clause
	order  []string
	limit  int // 0: none
	offset int
	hasLim bool
}

type clause struct {
	sql  string
	args []any
}

// Where returns a Query with one filter.
func Where(sql string, args ...any) Query { return Query{}.Where(sql, args...) }

// OrderBy returns a Query ordered by the given columns ("priority DESC").
func OrderBy(cols ...string) Query { return Query{}.OrderBy(cols...) }

// Where adds a filter; filters are joined with AND.
func (q Query) Where(sql string, args ...any) Query {
	q.where = append(q.where[:len(q.where):len(q.where)], clause{sql: sql, args: args})
	return q
}

// OrderBy appends sort keys: a column name, optionally followed by ASC or DESC.
func (q Query) OrderBy(cols ...string) Query {
	q.order = append(q.order[:len(q.order):len(q.order)], cols...)
	return q
}

// Limit caps the number of rows; a negative n removes the cap.
func (q Query) Limit(n int) Query {
	q.limit, q.hasLim = n, n >= 0
	return q
}

// Offset skips the first n rows.
func (q Query) Offset(n int) Query {
	q.offset = n
	return q
}

// render appends the WHERE, ORDER BY and LIMIT clauses and returns the
// arguments in order, after args: the arguments of a WHERE that b already
// has (a shared table's tenant filter) when there are any.
func (q Query) render(b []byte, d dialect.Dialect, m *Model, withOrder bool, args []any) ([]byte, []any, error) {
	hasWhere := len(args) > 0
	for i, c := range q.where {
		if i == 0 && !hasWhere {
			b = append(b, " WHERE "...)
		} else {
			b = append(b, " AND "...)
		}
		b = append(b, '(')
		var err error
		b, args, err = rebind(b, d, c.sql, c.args, args)
		if err != nil {
			return nil, nil, err
		}
		b = append(b, ')')
	}
	if withOrder {
		for i, o := range q.order {
			if i == 0 {
				b = append(b, " ORDER BY "...)
			} else {
				b = append(b, ", "...)
			}
			var err error
			if b, err = appendOrder(b, d, m, o); err != nil {
				return nil, nil, err
			}
		}
		if q.offset < 0 {
			return nil, nil, fmt.Errorf("%w: negative offset %d", ErrInvalidQuery, q.offset)
		}
		lim := -1
		if q.hasLim {
			lim = q.limit
		}
		b = d.AppendLimit(b, lim, q.offset)
	}
	return b, args, nil
}

func appendOrder(b []byte, d dialect.Dialect, m *Model, o string) ([]byte, error) {
	fields := strings.Fields(o)
	if len(fields) == 0 || len(fields) > 2 {
		return nil, fmt.Errorf("%w: order %q: want a column, optionally ASC or DESC", ErrInvalidQuery, o)
	}
	f := m.byCol[fields[0]]
	if f == nil || f.packed != nil {
		return nil, fmt.Errorf("%w: order %q: %s has no column %q (columns: %s)", ErrInvalidQuery, o, m.name, fields[0], strings.Join(m.Columns(), ", "))
	}
	b = d.AppendIdent(b, f.column)
	if len(fields) == 2 {
		switch strings.ToUpper(fields[1]) {
		case "ASC":
			b = append(b, " ASC"...)
		case "DESC":
			b = append(b, " DESC"...)
		default:
			return nil, fmt.Errorf("%w: order %q: want ASC or DESC after the column", ErrInvalidQuery, o)
		}
	}
	return b, nil
}

// rebind copies a programmer's SQL fragment, turning each ? outside string
// literals, quoted identifiers and comments into the dialect's placeholder,
// numbered after the arguments already in args. A ; outside literals is
// refused: a fragment is part of one statement.
func rebind(b []byte, d dialect.Dialect, sql string, fragArgs, args []any) ([]byte, []any, error) {
	used := 0
	endsInComment, err := scanSQL(sql, d.Syntax(), func(tok sqlToken) error {
		switch tok.kind {
		case tokPlaceholder:
			if used >= len(fragArgs) {
				return fmt.Errorf("%w: %q has more ? than the %d values given", ErrInvalidQuery, sql, len(fragArgs))
			}
			args = append(args, fragArgs[used])
			used++
			b = d.AppendPlaceholder(b, len(args))
		case tokSemicolon:
			return fmt.Errorf("%w: %q: ; is not allowed in a fragment", ErrInvalidQuery, sql)
		case tokTable:
			return fmt.Errorf("%w: %q: {%s} table tokens are for raw statements (DB.Exec, DB.Query)", ErrInvalidQuery, sql, tok.text)
		default:
			b = append(b, tok.text...)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if used != len(fragArgs) {
		return nil, nil, fmt.Errorf("%w: %q has %d ? for %d values", ErrInvalidQuery, sql, used, len(fragArgs))
	}
	if endsInComment {
		b = append(b, '\n') // end the comment, or it would swallow the rest of the statement
	}
	return b, args, nil
}

type tokKind uint8

const (
	tokText        tokKind = iota // copied as is (including literals and comments)
	tokPlaceholder                // ?
	tokSemicolon                  // ;
	tokTable                      // {name}; text is the name
)

type sqlToken struct {
	kind tokKind
	text string
}

// scanSQL splits SQL into text and the tokens tenantmap rewrites, following
// the dialect's lexical rules (syntax) for literals and comments, so that a ?,
// a ; or a {name} inside them is left alone and one outside is always seen.
// ?? yields a literal ?. An unterminated literal or comment is an error: the
// statement would mean something other than it looks. So are parentheses
// that do not balance outside literals and comments (a fragment's ) would
// close the group that keeps it inside the tenant filter), a NUL byte (a
// server may end a comment or the statement there), and executable
// comments (/*! … */, /*M! … */), which look like comments to a reader and
// are SQL to MySQL and MariaDB: refused on every database, so that a
// statement means the same everywhere. It reports whether s
// ends inside a -- comment, which would swallow whatever is appended.
func scanSQL(s string, syn dialect.Syntax, emit func(sqlToken) error) (endsInComment bool, err error) {
	if strings.IndexByte(s, 0) >= 0 {
		return false, fmt.Errorf("%w: a NUL byte in %q", ErrInvalidQuery, s)
	}
	start, depth := 0, 0
	flush := func(end int) error {
		if end > start {
			return emit(sqlToken{kind: tokText, text: s[start:end]})
		}
		return nil
	}
	unterminated := func(what string) error {
		return fmt.Errorf("%w: unterminated %s in %q", ErrInvalidQuery, what, s)
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\'' || c == '"' || c == '`' && syn.BacktickIdents:
			escapes := syn.BackslashEscapes ||
				syn.EscapeStrings && c == '\'' && i > 0 && (s[i-1] == 'E' || s[i-1] == 'e') && (i < 2 || !isIdentByte(s[i-2]))
			j := i + 1
			for {
				if j >= len(s) {
					return false, unterminated(string(c) + " literal")
				}
				if escapes && s[j] == '\\' {
					j += 2
					continue
				}
				if s[j] == c {
					if j+1 < len(s) && s[j+1] == c {
						j += 2
						continue
					}
					break
				}
				j++
			}
			i = j + 1
		case c == '[' && syn.BracketIdents:
			j := strings.IndexByte(s[i:], ']')
			if j < 0 {
				return false, unterminated("[identifier]")
			}
			i += j + 1
		case c == '-' && i+1 < len(s) && s[i+1] == '-' &&
			(!syn.DashCommentNeedsSpace || i+2 >= len(s) || s[i+2] <= ' ' || s[i+2] == 0x7f),
			c == '#' && syn.HashComments:
			j := i
			for j < len(s) && s[j] != '\n' && !(syn.CRLineEnd && s[j] == '\r') {
				j++
			}
			if j == len(s) {
				endsInComment = true
			}
			i = j
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			if strings.HasPrefix(s[i+2:], "!") || strings.HasPrefix(s[i+2:], "M!") {
				return false, fmt.Errorf("%w: %q: MySQL and MariaDB run what an executable comment (/*! … */) holds; write the SQL without the comment", ErrInvalidQuery, s)
			}
			nest, j := 1, i+2
			for nest > 0 {
				switch {
				case j+1 >= len(s):
					return false, unterminated("comment")
				case s[j] == '*' && s[j+1] == '/':
					nest--
					j += 2
				case syn.NestedComments && s[j] == '/' && s[j+1] == '*':
					nest++
					j += 2
				default:
					j++
				}
			}
			i = j
		case c == '$' && syn.DollarQuotes && (i == 0 || !isIdentByte(s[i-1])):
			// $tag$ … $tag$; $1 is a parameter, not a tag.
			j := i + 1
			for j < len(s) && isIdentByte(s[j]) && !(j == i+1 && s[j] >= '0' && s[j] <= '9') {
				j++
			}
			if j < len(s) && s[j] == '$' {
				tag := s[i : j+1]
				k := strings.Index(s[j+1:], tag)
				if k < 0 {
					return false, unterminated(tag + " string")
				}
				i = j + 1 + k + len(tag)
			} else {
				i++
			}
		case c == '?':
			if err := flush(i); err != nil {
				return false, err
			}
			switch {
			case i+1 < len(s) && s[i+1] == '?':
				err = emit(sqlToken{kind: tokText, text: "?"})
				i += 2
			case i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
				return false, fmt.Errorf("%w: %q: numbered placeholders (?%c) are not supported; write ? for each value", ErrInvalidQuery, s, s[i+1])
			default:
				err = emit(sqlToken{kind: tokPlaceholder})
				i++
			}
			if err != nil {
				return false, err
			}
			start = i
		case c == ';':
			if err := flush(i); err != nil {
				return false, err
			}
			if err := emit(sqlToken{kind: tokSemicolon, text: ";"}); err != nil {
				return false, err
			}
			i++
			start = i
		case c == '{':
			j := strings.IndexByte(s[i:], '}')
			if j > 1 && (validName(s[i+1:i+j], maxNameLength) || tenantFilterAlias(s[i+1:i+j]) != "-") {
				if err := flush(i); err != nil {
					return false, err
				}
				if err := emit(sqlToken{kind: tokTable, text: s[i+1 : i+j]}); err != nil {
					return false, err
				}
				i += j + 1
				start = i
			} else {
				i++
			}
		case c == '(':
			depth++
			i++
		case c == ')':
			if depth--; depth < 0 {
				return false, fmt.Errorf("%w: %q: a ) closes a parenthesis it did not open", ErrInvalidQuery, s)
			}
			i++
		default:
			i++
		}
	}
	if depth > 0 {
		return false, fmt.Errorf("%w: %q: %d ( left open", ErrInvalidQuery, s, depth)
	}
	return endsInComment, flush(len(s))
}

func isIdentByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c >= 0x80
}
