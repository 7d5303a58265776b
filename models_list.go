package tenantmap

// RegisteredModel is a model registered on a DB and the strategy that
// places its tenants by default.
type RegisteredModel struct {
	Model    *Model
	Strategy Strategy
}

// Models returns the models registered on db, in registration order.
func (db *DB) Models() []RegisteredModel {
	db.mu.RLock()
	defer db.mu.RUnlock()
	out := make([]RegisteredModel, 0, len(db.bindings))
	for _, b := range db.bindings {
		out = append(out, RegisteredModel{Model: b.model, Strategy: b.strategy})
	}
	return out
}
