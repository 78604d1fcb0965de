-- A provider call in flight under the refresh lease: set just before the
-- refresh token is sent, cleared when the answer is stored or the call
-- failed. If the server dies in between, whoever takes the expired lease
-- over finds it set and knows the provider may already have rotated the
-- refresh token. (0003 is left to the Stripe sandboxes table.)
ALTER TABLE credentials ADD COLUMN refresh_in_flight_since BIGINT;
ALTER TABLE credentials ADD COLUMN refresh_in_flight_owner TEXT;
