-- A factor import's report listed up to 20 customer ids of the file that training did not know
-- (result.factorImport.users.unknownSample), kept with the job, where no erasure reaches. Reports now count
-- customers without naming them; this empties the lists of reports written before. (Model versions' copies
-- of the report, in the model store, go with their versions.)
UPDATE jobs SET result = jsonb_set(result, '{factorImport,users,unknownSample}', '[]'::jsonb)
WHERE type = 'factor-import' AND jsonb_typeof(result #> '{factorImport,users,unknownSample}') = 'array'
  AND jsonb_array_length(result #> '{factorImport,users,unknownSample}') > 0;
