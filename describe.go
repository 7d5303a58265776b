package tenantmap

import (
	"context"
	"fmt"
)

// ColumnInfo is one column of a table as the database describes it.
type ColumnInfo struct {
	Name     string
	Type     string // as the database names it: "bigint", "character varying(200)", "varchar(200)", "integer"
	Nullable bool
	Key      bool // part of the primary key
}

// Describe returns the columns of the tenant's table of this model as the
// database has them (introspection), in table order: the model's columns,
// and TenantColumn for a shared table. It is how a caller compares what a
// tenant's table is with what its model says it should be. A table that
// does not exist is ErrNotFound.
func (t *Table[T]) Describe(ctx context.Context) ([]ColumnInfo, error) {
	mp, q, err := t.target(ctx)
	if err != nil {
		return nil, t.fail("describe", ctx, err)
	}
	sql, args := t.db.dialect.ColumnsQuery(mp.schema, mp.table)
	r, err := q.query(ctx, sql, args...)
	if err != nil {
		return nil, t.fail("describe", ctx, err)
	}
	defer r.Close()
	var out []ColumnInfo
	for r.Next() {
		var c ColumnInfo
		if err := r.Scan(&c.Name, &c.Type, &c.Nullable, &c.Key); err != nil {
			return nil, t.fail("describe", ctx, err)
		}
		out = append(out, c)
	}
	if err := r.Err(); err != nil {
		return nil, t.fail("describe", ctx, err)
	}
	if len(out) == 0 {
		return nil, t.fail("describe", ctx, fmt.Errorf("%w: no table %s", ErrNotFound, qualified(mp.schema, mp.table)))
	}
	return out, nil
}
