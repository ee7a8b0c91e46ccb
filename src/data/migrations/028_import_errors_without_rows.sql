-- The error of an import that failed its header check quoted the file's first line (`header is "..."`), and
-- a duplicated or too long column name (`column "..." appears twice`, `attribute column "..."... is longer`):
-- a file sent without its header began with a customer's row, kept with the job where no erasure reaches.
-- Errors now name the expected columns and places only (src/data/importers); this takes the quotes out of
-- the errors of jobs that failed before. (What the log wrote then stays in the log.)
UPDATE jobs SET error = regexp_replace(
    regexp_replace(
      regexp_replace(error, 'header is ".*", expected', 'first line not shown, expected'),
      'column ".*" appears twice', 'a column name appears twice'),
    'attribute column ".*" is longer', 'an attribute column name is longer')
WHERE type = 'import' AND error IS NOT NULL
  AND (error LIKE '%header is "%' OR error LIKE '%column "%" appears twice%' OR error LIKE '%attribute column "%');
