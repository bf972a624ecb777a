-- Every type the JSON profiles document, with edge values and NULLs, one case per row. Shared by
-- the postgres (row_to_json), node (node-postgres) and python (asyncpg + FastAPI) comparisons.
-- Columns are named after their type; each row exercises other values.
SELECT * FROM (VALUES
  (1, 1::int2, 2147483647::int4, 9007199254740993::int8, 12.50::numeric, 4.2::real, 0.1::float8,
   true, 'plain'::text, 'v'::varchar(10), 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid,
   '{"b": 1, "a": [1, 2.50, 1e2], "10": "x", "2": true}'::json,
   '{"b": 1, "a": [1, 2.50, 1e2], "10": "x", "2": true}'::jsonb,
   '2024-03-05 06:07:08.570001'::timestamp, '2024-03-05 06:07:08.570001+00'::timestamptz,
   '2024-03-05'::date, 'hello'::bytea,
   ARRAY[1, 2, NULL]::int4[], ARRAY['a,b', 'c"d', NULL, 'NULL', '']::text[], ARRAY[1.5, -0.25]::float8[],
   ARRAY[10, -1]::int8[], ARRAY[1.50, NULL]::numeric[], ARRAY[true, false]::bool[],
   ARRAY['2024-01-01 00:00:00.5+00']::timestamptz[], ARRAY['{"k": [1]}']::jsonb[]),
  (2, '-32768'::int2, '-2147483648'::int4, '-9223372036854775808'::int8, 'NaN'::numeric, 'NaN'::real,
   'Infinity'::float8, false, E'quote " backslash \\ newline \n tab \t bell \x07 é 日本 🚀'::text,
   ''::varchar(10), '00000000-0000-0000-0000-000000000000'::uuid, '[]'::json, 'null'::jsonb,
   '2024-03-05 06:07:08'::timestamp, '2024-03-05 06:07:08+00'::timestamptz, '1999-12-31'::date,
   ''::bytea, '{}'::int4[], ARRAY[]::text[], ARRAY['NaN'::float8], NULL::int8[], NULL::numeric[],
   NULL::bool[], NULL::timestamptz[], NULL::jsonb[]),
  (3, NULL, NULL, 9223372036854775807::int8, 0.0000001::numeric, 1e-7::real, 1e16::float8, NULL,
   NULL, NULL, NULL, '{"nested": {"deep": [null, true, "s"]}, "num": 1.0E+2, "big": 12345678901234567890}'::json,
   '{"unicode": "\u00e9\ud83d\ude80", "esc": "a\"b\\c\n"}'::jsonb, '2024-03-05 06:07:08.5'::timestamp,
   '1970-01-01 00:00:00.001+00'::timestamptz, NULL, convert_to('avatar:é', 'UTF8'), ARRAY[[1, 2], [3, 4]]::int4[],
   ARRAY['x y', '{braces}', 'back\slash']::text[], NULL, NULL, ARRAY[0.0000001, 10000]::numeric[], NULL, NULL, NULL),
  (4, 0::int2, 0::int4, 0::int8, -100000.10::numeric, -0.5::real, -1.5e-7::float8, true,
   '<b>html</b> & ''quotes''', 'x', NULL, '{"dup": 1, "dup": 2}'::json, '[1, "two", 3.0]'::jsonb,
   '2000-02-29 23:59:59.999999'::timestamp, '2000-02-29 23:59:59.999999+00'::timestamptz,
   '2000-02-29'::date, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (5, 7::int2, 7::int4, 7::int8, 10000::numeric, 3.4028235e38::real, 0.30000000000000004::float8, false,
   'line1
line2', 'zz', 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid, NULL, NULL, NULL, NULL, NULL,
   '\x00'::bytea, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)
) AS t(id, int2, int4, int8, numeric, real, float8, bool, text, varchar, uuid, json, jsonb,
       timestamp, timestamptz, date, bytea, int4_array, text_array, float8_array, int8_array,
       numeric_array, bool_array, timestamptz_array, jsonb_array)
ORDER BY id
