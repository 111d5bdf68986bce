-- The order transaction of POST /order/commit for one SKU, count 1, as a
-- stored procedure: bench/run.sh calls it with mariadb-slap to measure
-- the database alone. mode: 1 pessimistic, 2 optimistic, 3 guarded — the
-- statements each mode of handlers/order_commit.c runs, in its order
-- (one SKU: the handler's JSON_TABLE reads become plain ones).
DROP PROCEDURE IF EXISTS df_bench_order;
DELIMITER //
CREATE PROCEDURE df_bench_order(IN mode INT, IN sku INT, IN uid INT, IN addr INT)
BEGIN
    DECLARE oid VARCHAR(64) DEFAULT CONCAT(DATE_FORMAT(UTC_TIMESTAMP(6), '%Y%m%d%H%i%s%f'), '_', uid, '_',
                                           LEFT(REPLACE(UUID(), '-', ''), 16));
    DECLARE s INT;
    DECLARE sa INT;
    DECLARE p DECIMAL(10,2);
    DECLARE done INT DEFAULT 0;
    -- the unlocked read of price and stock, before the transaction
    SELECT stock, sales, price INTO s, sa, p FROM df_goods_sku WHERE id = sku AND status = 1;
    START TRANSACTION;
    INSERT INTO df_order_info (order_id, pay_method, total_count, total_price, transit_price, order_status,
                               trade_no, addr_id, user_id, create_time, update_time, is_delete)
        VALUES (oid, 1, 1, p, 10.00, 1, '', addr, uid, NOW(6), NOW(6), 0);
    IF mode = 1 THEN
        SELECT stock, status INTO s, sa FROM df_goods_sku WHERE id = sku FOR UPDATE;
        UPDATE df_goods_sku SET stock = stock - 1, sales = sales + 1 WHERE id = sku;
    ELSEIF mode = 2 THEN
        UPDATE df_goods_sku SET stock = s - 1, sales = sales + 1 WHERE id = sku AND stock = s AND status = 1;
        SET done = ROW_COUNT();
        WHILE done = 0 DO
            SELECT stock INTO s FROM df_goods_sku WHERE id = sku;
            UPDATE df_goods_sku SET stock = s - 1, sales = sales + 1 WHERE id = sku AND stock = s AND status = 1;
            SET done = ROW_COUNT();
        END WHILE;
    ELSE
        UPDATE df_goods_sku SET stock = stock - 1, sales = sales + 1 WHERE id = sku AND stock >= 1 AND status = 1;
    END IF;
    -- after the stock: its foreign-key check takes a shared lock on the SKU
    INSERT INTO df_order_goods (count, price, comment, order_id, sku_id, create_time, update_time, is_delete)
        VALUES (1, p, '', oid, sku, NOW(6), NOW(6), 0);
    COMMIT;
END //
DELIMITER ;
