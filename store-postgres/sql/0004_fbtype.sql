-- calstore PostgreSQL schema, migration 0004: the period tables keep every FBTYPE.
--
-- The transp column (named as in imip-agent's tables) held OPAQUE (busy) or TRANSPARENT (free).
-- A period now records its RFC 5545 FBTYPE, so the column may also hold BUSY-TENTATIVE and
-- BUSY-UNAVAILABLE. OPAQUE and TRANSPARENT keep their meaning (BUSY and FREE): existing rows
-- stay as they are and nothing is rewritten. Only the CHECK constraints change; each ALTER TABLE
-- validates the rows already there, which all satisfy the wider constraint.
--
-- The constraints of 0001 were declared inline and so carry PostgreSQL's generated names
-- (<table>_transp_check); they are replaced under the same names.

ALTER TABLE freebusy
    DROP CONSTRAINT freebusy_transp_check,
    ADD CONSTRAINT freebusy_transp_check
        CHECK (transp IN ('OPAQUE', 'TRANSPARENT', 'BUSY-TENTATIVE', 'BUSY-UNAVAILABLE'));
ALTER TABLE freebusy_offers
    DROP CONSTRAINT freebusy_offers_transp_check,
    ADD CONSTRAINT freebusy_offers_transp_check
        CHECK (transp IN ('OPAQUE', 'TRANSPARENT', 'BUSY-TENTATIVE', 'BUSY-UNAVAILABLE'));
ALTER TABLE freebusy_other
    DROP CONSTRAINT freebusy_other_transp_check,
    ADD CONSTRAINT freebusy_other_transp_check
        CHECK (transp IN ('OPAQUE', 'TRANSPARENT', 'BUSY-TENTATIVE', 'BUSY-UNAVAILABLE'));
ALTER TABLE quota_freebusy
    DROP CONSTRAINT quota_freebusy_transp_check,
    ADD CONSTRAINT quota_freebusy_transp_check
        CHECK (transp IN ('OPAQUE', 'TRANSPARENT', 'BUSY-TENTATIVE', 'BUSY-UNAVAILABLE'));
ALTER TABLE user_freebusy
    DROP CONSTRAINT user_freebusy_transp_check,
    ADD CONSTRAINT user_freebusy_transp_check
        CHECK (transp IN ('OPAQUE', 'TRANSPARENT', 'BUSY-TENTATIVE', 'BUSY-UNAVAILABLE'));
