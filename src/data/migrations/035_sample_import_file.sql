-- Which sample file a first start's import (sample_import_pending) began with: SAMPLE_FILE's value, '' for the
-- bundled sample. A start that finds the import unfinished completes that file, whatever SAMPLE_FILE says now:
-- the rows stored are a part of it, and importing another file on top would mix the two samples (src/bootstrap.ts).
-- NULL on a mark a release before this one set: which file is not known, and the configured one is imported.
ALTER TABLE sample_import_pending ADD COLUMN sample_file text;
