-- The order transaction of POST /order/commit for one SKU, count 1, as a
-- stored procedure: bench/orders.sh calls it with mariadb-slap to measure
-- the database alone. mode: 1 pessimistic, 2 optimistic, 3 guarded — the
-- statements each mode of handlers/order_commit.c runs, in its order.
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
    START TRANSACTION;
    IF mode = 1 THEN
        SELECT stock, sales, price INTO s, sa, p FROM df_goods_sku WHERE id = sku AND status = 1 FOR UPDATE;
        UPDATE df_goods_sku SET stock = stock - 1, sales = sales + 1 WHERE id = sku;
    ELSEIF mode = 2 THEN
        WHILE done = 0 DO
            SELECT stock, sales, price INTO s, sa, p FROM df_goods_sku WHERE id = sku AND status = 1;
            UPDATE df_goods_sku SET stock = s - 1, sales = sa + 1 WHERE id = sku AND stock = s;
            SET done = ROW_COUNT();
        END WHILE;
    ELSE
        UPDATE df_goods_sku SET stock = stock - 1, sales = sales + 1 WHERE id = sku AND stock >= 1;
        SELECT price INTO p FROM df_goods_sku WHERE id = sku;
    END IF;
    INSERT INTO df_order_info (order_id, pay_method, total_count, total_price, transit_price, order_status,
                               trade_no, addr_id, user_id, create_time, update_time, is_delete)
        VALUES (oid, 1, 1, p, 10.00, 1, '', addr, uid, NOW(6), NOW(6), 0);
    INSERT INTO df_order_goods (count, price, comment, order_id, sku_id, create_time, update_time, is_delete)
        VALUES (1, p, '', oid, sku, NOW(6), NOW(6), 0);
    COMMIT;
END //
DELIMITER ;
