-- dailyfresh tables: the Django original's, same names and columns, so an
-- existing database works as it is. InnoDB, utf8mb4. Safe to run again.
SET NAMES utf8mb4;

CREATE TABLE IF NOT EXISTS df_user (
    id int NOT NULL AUTO_INCREMENT PRIMARY KEY,
    password varchar(128) NOT NULL,
    last_login datetime(6) NULL,
    is_superuser tinyint(1) NOT NULL DEFAULT 0,
    username varchar(150) NOT NULL,
    first_name varchar(150) NOT NULL DEFAULT '',
    last_name varchar(150) NOT NULL DEFAULT '',
    email varchar(254) NOT NULL,
    is_staff tinyint(1) NOT NULL DEFAULT 0,
    is_active tinyint(1) NOT NULL DEFAULT 1,
    date_joined datetime(6) NOT NULL,
    create_time datetime(6) NOT NULL,
    update_time datetime(6) NOT NULL,
    is_delete tinyint(1) NOT NULL DEFAULT 0,
    UNIQUE KEY username (username)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS df_address (
    id int NOT NULL AUTO_INCREMENT PRIMARY KEY,
    create_time datetime(6) NOT NULL,
    update_time datetime(6) NOT NULL,
    is_delete tinyint(1) NOT NULL DEFAULT 0,
    receiver varchar(20) NOT NULL,
    addr varchar(256) NOT NULL,
    zip_code varchar(6) NULL,
    phone varchar(11) NOT NULL,
    is_default tinyint(1) NOT NULL DEFAULT 0,
    user_id int NOT NULL,
    KEY df_address_user_id (user_id),
    CONSTRAINT df_address_user_id_fk_df_user_id FOREIGN KEY (user_id) REFERENCES df_user (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS df_goods_type (
    id int NOT NULL AUTO_INCREMENT PRIMARY KEY,
    create_time datetime(6) NOT NULL,
    update_time datetime(6) NOT NULL,
    is_delete tinyint(1) NOT NULL DEFAULT 0,
    name varchar(20) NOT NULL,
    logo varchar(20) NOT NULL,
    image varchar(100) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS df_goods (
    id int NOT NULL AUTO_INCREMENT PRIMARY KEY,
    create_time datetime(6) NOT NULL,
    update_time datetime(6) NOT NULL,
    is_delete tinyint(1) NOT NULL DEFAULT 0,
    name varchar(20) NOT NULL,
    detail longtext NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS df_goods_sku (
    id int NOT NULL AUTO_INCREMENT PRIMARY KEY,
    create_time datetime(6) NOT NULL,
    update_time datetime(6) NOT NULL,
    is_delete tinyint(1) NOT NULL DEFAULT 0,
    name varchar(20) NOT NULL,
    `desc` varchar(256) NOT NULL,
    price decimal(10,2) NOT NULL,
    unite varchar(20) NOT NULL,
    image varchar(100) NOT NULL,
    stock int NOT NULL DEFAULT 1,
    sales int NOT NULL DEFAULT 0,
    status smallint NOT NULL DEFAULT 1,
    goods_id int NOT NULL,
    type_id int NOT NULL,
    KEY df_goods_sku_goods_id (goods_id),
    KEY df_goods_sku_type_id (type_id),
    CONSTRAINT df_goods_sku_goods_id_fk_df_goods_id FOREIGN KEY (goods_id) REFERENCES df_goods (id),
    CONSTRAINT df_goods_sku_type_id_fk_df_goods_type_id FOREIGN KEY (type_id) REFERENCES df_goods_type (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS df_goods_image (
    id int NOT NULL AUTO_INCREMENT PRIMARY KEY,
    create_time datetime(6) NOT NULL,
    update_time datetime(6) NOT NULL,
    is_delete tinyint(1) NOT NULL DEFAULT 0,
    image varchar(100) NOT NULL,
    sku_id int NOT NULL,
    KEY df_goods_image_sku_id (sku_id),
    CONSTRAINT df_goods_image_sku_id_fk_df_goods_sku_id FOREIGN KEY (sku_id) REFERENCES df_goods_sku (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS df_index_banner (
    id int NOT NULL AUTO_INCREMENT PRIMARY KEY,
    create_time datetime(6) NOT NULL,
    update_time datetime(6) NOT NULL,
    is_delete tinyint(1) NOT NULL DEFAULT 0,
    image varchar(100) NOT NULL,
    `index` smallint NOT NULL DEFAULT 0,
    sku_id int NOT NULL,
    KEY df_index_banner_sku_id (sku_id),
    CONSTRAINT df_index_banner_sku_id_fk_df_goods_sku_id FOREIGN KEY (sku_id) REFERENCES df_goods_sku (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS df_index_type_goods (
    id int NOT NULL AUTO_INCREMENT PRIMARY KEY,
    create_time datetime(6) NOT NULL,
    update_time datetime(6) NOT NULL,
    is_delete tinyint(1) NOT NULL DEFAULT 0,
    display_type smallint NOT NULL DEFAULT 1,
    `index` smallint NOT NULL DEFAULT 0,
    sku_id int NOT NULL,
    type_id int NOT NULL,
    KEY df_index_type_goods_sku_id (sku_id),
    KEY df_index_type_goods_type_id (type_id),
    CONSTRAINT df_index_type_goods_sku_id_fk_df_goods_sku_id FOREIGN KEY (sku_id) REFERENCES df_goods_sku (id),
    CONSTRAINT df_index_type_goods_type_id_fk_df_goods_type_id FOREIGN KEY (type_id) REFERENCES df_goods_type (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS df_index_promotion (
    id int NOT NULL AUTO_INCREMENT PRIMARY KEY,
    create_time datetime(6) NOT NULL,
    update_time datetime(6) NOT NULL,
    is_delete tinyint(1) NOT NULL DEFAULT 0,
    name varchar(20) NOT NULL,
    url varchar(200) NOT NULL,
    image varchar(100) NOT NULL,
    `index` smallint NOT NULL DEFAULT 0
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS df_order_info (
    create_time datetime(6) NOT NULL,
    update_time datetime(6) NOT NULL,
    is_delete tinyint(1) NOT NULL DEFAULT 0,
    order_id varchar(128) NOT NULL PRIMARY KEY,
    pay_method smallint NOT NULL DEFAULT 3,
    total_count int NOT NULL DEFAULT 1,
    total_price decimal(10,2) NOT NULL,
    transit_price decimal(10,2) NOT NULL,
    order_status smallint NOT NULL DEFAULT 1,
    trade_no varchar(128) NOT NULL DEFAULT '',
    addr_id int NOT NULL,
    user_id int NOT NULL,
    KEY df_order_info_addr_id (addr_id),
    KEY df_order_info_user_id (user_id),
    CONSTRAINT df_order_info_addr_id_fk_df_address_id FOREIGN KEY (addr_id) REFERENCES df_address (id),
    CONSTRAINT df_order_info_user_id_fk_df_user_id FOREIGN KEY (user_id) REFERENCES df_user (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS df_order_goods (
    id int NOT NULL AUTO_INCREMENT PRIMARY KEY,
    create_time datetime(6) NOT NULL,
    update_time datetime(6) NOT NULL,
    is_delete tinyint(1) NOT NULL DEFAULT 0,
    count int NOT NULL DEFAULT 1,
    price decimal(10,2) NOT NULL,
    comment varchar(256) NOT NULL DEFAULT '',
    order_id varchar(128) NOT NULL,
    sku_id int NOT NULL,
    KEY df_order_goods_order_id (order_id),
    KEY df_order_goods_sku_id (sku_id),
    CONSTRAINT df_order_goods_order_id_fk_df_order_info_order_id FOREIGN KEY (order_id) REFERENCES df_order_info (order_id),
    CONSTRAINT df_order_goods_sku_id_fk_df_goods_sku_id FOREIGN KEY (sku_id) REFERENCES df_goods_sku (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- New in dailyfresh (the original has no such table): a client's
-- Idempotency-Key for POST /order/commit, unique per user. The row is
-- inserted first in the order's own transaction, so a repeated commit
-- waits for the first one and then finds its order_id.
CREATE TABLE IF NOT EXISTS df_order_idempotency (
    user_id int NOT NULL,
    idem_key varchar(64) NOT NULL,
    order_id varchar(128) NOT NULL,
    create_time datetime(6) NOT NULL,
    PRIMARY KEY (user_id, idem_key),
    KEY df_order_idempotency_create_time (create_time)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- New in dailyfresh: a payment the shop took and must give back, for
-- staff to refund: an Alipay trade that arrived for an order past its
-- time limit (reason 'expired': the order is cancelled, its goods back on
-- sale), or a second trade for an order already paid ('paid_twice').
-- Written in the transaction that decided, under the order's row lock;
-- one row per trade_no, so a repeated notify or check records it once.
-- refund_status: 1 to refund, 2 refunded (staff set it).
CREATE TABLE IF NOT EXISTS df_order_refund (
    id int NOT NULL AUTO_INCREMENT PRIMARY KEY,
    create_time datetime(6) NOT NULL,
    update_time datetime(6) NOT NULL,
    order_id varchar(128) NOT NULL,
    trade_no varchar(128) NOT NULL,
    amount decimal(10,2) NOT NULL,
    reason varchar(16) NOT NULL,
    refund_status smallint NOT NULL DEFAULT 1,
    UNIQUE KEY df_order_refund_trade_no (trade_no),
    KEY df_order_refund_order_id (order_id),
    KEY df_order_refund_status_create (refund_status, create_time),
    CONSTRAINT df_order_refund_order_id_fk_df_order_info_order_id FOREIGN KEY (order_id) REFERENCES df_order_info (order_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Not in the original: the expiry sweep reads the unpaid orders oldest
-- first (order_status = 1 ORDER BY create_time LIMIT n FOR UPDATE SKIP
-- LOCKED). Through this index it locks only the orders it takes, so
-- several sweepers share the work; without it each would lock every
-- unpaid order it scanned.
CREATE INDEX IF NOT EXISTS df_order_info_status_create ON df_order_info (order_status, create_time);

-- New in dailyfresh: a flash sale (秒杀) of one SKU. Its units are taken
-- from df_goods_sku.stock when it is created (one guarded UPDATE in the
-- INSERT's transaction) and what was not sold goes back when it is
-- closed. starts_at / ends_at are Unix seconds. status: 1 on, 2 closed.
-- returned: the units the close gave back to the SKU.
CREATE TABLE IF NOT EXISTS df_flash_sale (
    id int NOT NULL AUTO_INCREMENT PRIMARY KEY,
    create_time datetime(6) NOT NULL,
    update_time datetime(6) NOT NULL,
    is_delete tinyint(1) NOT NULL DEFAULT 0,
    sku_id int NOT NULL,
    stock int NOT NULL,
    starts_at bigint NOT NULL,
    ends_at bigint NOT NULL,
    limit_per_user int NOT NULL,
    status smallint NOT NULL DEFAULT 1,
    returned int NOT NULL DEFAULT 0,
    KEY df_flash_sale_sku_id (sku_id),
    KEY df_flash_sale_status_ends (status, ends_at),
    CONSTRAINT df_flash_sale_sku_id_fk_df_goods_sku_id FOREIGN KEY (sku_id) REFERENCES df_goods_sku (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- New in dailyfresh: which orders a flash sale sold, one row per order,
-- the order id its key. The staff read counts a sale's rows as its
-- persisted orders.
CREATE TABLE IF NOT EXISTS df_flash_sale_order (
    order_id varchar(128) NOT NULL PRIMARY KEY,
    sale_id int NOT NULL,
    user_id int NOT NULL,
    create_time datetime(6) NOT NULL,
    -- 0 live; 1 its unit went back to the sale (the order expired unpaid
    -- while the sale was on); 2 its unit went back to the SKU's stock
    released tinyint NOT NULL DEFAULT 0,
    KEY df_flash_sale_order_sale_user (sale_id, user_id),
    CONSTRAINT df_flash_sale_order_order_id_fk_df_order_info_order_id FOREIGN KEY (order_id) REFERENCES df_order_info (order_id),
    CONSTRAINT df_flash_sale_order_sale_id_fk_df_flash_sale_id FOREIGN KEY (sale_id) REFERENCES df_flash_sale (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
-- a database made before the column existed
ALTER TABLE df_flash_sale_order ADD COLUMN IF NOT EXISTS released tinyint NOT NULL DEFAULT 0 AFTER create_time;
