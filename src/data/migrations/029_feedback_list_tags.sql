-- A personal list's recommendationId carries its customer's tag (src/serving/recommendation-token.ts: 4 bytes
-- of a MAC of the id, the last field before the 16-byte MAC). Feedback of another visitor on the list (a
-- session id, a shared device) was stored with the token, tying the row to that customer after their erasure.
-- Such feedback is now stored without it, and an erasure takes it out of the rows stored before (or while a
-- process could not read the key): src/data/event-repository.ts, forgetListTokens. This finds them by the tag
-- without reading every feedback row.
--
-- The tag the bytes of a token of this layout (format 2, a 4-byte tag) would hold, as hex; null for any other
-- text. Never fails, whatever a client sent (it runs on every insert): the CASE branches are taken in order,
-- so nothing is decoded that is not base64url of a whole number of bytes, nor read past its end. A match is
-- only a candidate: the erasure verifies the token's MAC before it changes the row.
CREATE FUNCTION recommendation_list_tag(id text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT CASE
      WHEN b IS NULL OR length(b) < 36 THEN NULL
      WHEN get_byte(b, 0) <> 2 THEN NULL
      WHEN get_byte(b, length(b) - 21) <> 4 THEN NULL
      ELSE encode(substring(b FROM length(b) - 19 FOR 4), 'hex')
    END
  FROM (SELECT CASE
      WHEN length(id) < 48 OR length(id) > 400 THEN NULL
      WHEN id !~ '^[A-Za-z0-9_-]+$' THEN NULL
      WHEN length(id) % 4 = 1 THEN NULL
      ELSE decode(rpad(translate(id, '-_', '+/'), (length(id) + 3) / 4 * 4, '='), 'base64')
    END AS b) AS token
$$;

-- Only rows without a list key: a browser's event with one is on a list of its own customer (or of none).
CREATE INDEX feedback_events_list_tag ON feedback_events (recommendation_list_tag(recommendation_id))
  WHERE list_key IS NULL AND recommendation_list_tag(recommendation_id) IS NOT NULL;
