"""Linear algebra of the library: batch-invariant products (:mod:`.fixed_order`) and ridge
regression (:mod:`.ridge`)."""
