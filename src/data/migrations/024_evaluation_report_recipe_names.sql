-- The names the evaluated recipes give themselves (a recipe file's "name", else the file's name), in the
-- order of `recipes` (the file names the evaluation was asked for). The active model records the name a
-- recipe gives itself, so the evaluation gauges find "the latest stored evaluation of the active model's
-- recipe" by these names. Reports stored before this migration have none (null): they are found by their
-- file names, as before.
ALTER TABLE evaluation_reports ADD COLUMN recipe_names text[];
