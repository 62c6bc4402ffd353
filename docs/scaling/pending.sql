INSERT INTO pending (data) VALUES (repeat('x', 200));
