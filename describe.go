package tenantmap

import (
	"context"
	"fmt"
	"strings"

	"github.com/tenantmap/tenantmap/dialect"
)

// ColumnInfo is one column of a table as the database describes it.
type ColumnInfo struct {
	Name     string
	Type     string // as the database names it: "bigint", "character varying(200)", "varchar(200)", "integer"
	Nullable bool
	Key      bool // part of the primary key
}

// IndexInfo is one index of a table, other than its primary key, as the
// database describes it.
type IndexInfo struct {
	Name    string
	Unique  bool
	Columns []string // in index order
}

// TableInfo is a tenant's table of one model as the database has it.
type TableInfo struct {
	Model   string
	Schema  string // "" where the dialect has none
	Table   string
	Columns []ColumnInfo // in table order
	Indexes []IndexInfo  // by name
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
	info, err := t.db.describe(ctx, q, mp)
	if err != nil {
		return nil, t.fail("describe", ctx, err)
	}
	return info.Columns, nil
}

// Describe returns the context's tenant's table of the model named model as
// the database has it: its columns and indexes. A table that does not exist
// is ErrNotFound.
func (db *DB) Describe(ctx context.Context, model string) (TableInfo, error) {
	id, err := tenantOf(ctx, "")
	if err != nil {
		return TableInfo{}, opError("describe", "", model, err)
	}
	b := db.bindingNamed(model)
	if b == nil {
		return TableInfo{}, opError("describe", id, model, fmt.Errorf("%w: no model %q is registered", ErrInvalidQuery, model))
	}
	tx := txFrom(ctx, db)
	mp, err := db.mappingFor(ctx, tx, b, id)
	if err != nil {
		return TableInfo{}, opError("describe", id, model, err)
	}
	var q querier = db.backendFor(id, mp.database)
	if tx != nil {
		q = tx.be
	}
	info, err := db.describe(ctx, q, mp)
	return info, opError("describe", id, model, err)
}

// describe introspects a mapping's table on q.
func (db *DB) describe(ctx context.Context, q querier, mp *mapping) (TableInfo, error) {
	info := TableInfo{Model: mp.model.name, Schema: mp.schema, Table: mp.table}
	var err error
	if info.Columns, err = columnsOf(ctx, q, db.dialect, mp.schema, mp.table); err != nil {
		return info, err
	}
	if len(info.Columns) == 0 {
		return info, fmt.Errorf("%w: no table %s", ErrNotFound, qualified(mp.schema, mp.table))
	}
	info.Indexes, err = indexesOf(ctx, q, db.dialect, mp.schema, mp.table)
	return info, err
}

// columnsOf introspects a table's columns on q; none if there is no table.
func columnsOf(ctx context.Context, q querier, d dialect.Dialect, schema, table string) ([]ColumnInfo, error) {
	sql, args := d.ColumnsQuery(schema, table)
	r, err := q.query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []ColumnInfo
	for r.Next() {
		var c ColumnInfo
		if err := r.Scan(&c.Name, &c.Type, &c.Nullable, &c.Key); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, r.Err()
}

// indexesOf introspects a table's indexes other than its primary key on q.
func indexesOf(ctx context.Context, q querier, d dialect.Dialect, schema, table string) ([]IndexInfo, error) {
	sql, args := d.IndexesQuery(schema, table)
	r, err := q.query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []IndexInfo
	for r.Next() {
		var ix IndexInfo
		var cols string
		if err := r.Scan(&ix.Name, &ix.Unique, &cols); err != nil {
			return nil, err
		}
		ix.Columns = strings.Split(cols, ",")
		out = append(out, ix)
	}
	return out, r.Err()
}
