-- The merchant's brand colour on the payer page (#rrggbb, lower case). The page derives readable variants of it
-- (contrast >= 4.5:1 in light and dark mode) and serves them as a small stylesheet: no inline styles.
ALTER TABLE companies ADD COLUMN brand_color text CHECK (brand_color ~ '^#[0-9a-f]{6}$');
