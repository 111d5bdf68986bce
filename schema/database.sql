-- The local stack's database and the account the plugin uses
-- (uwsgi.ini: dailyfresh-mysql-user / -password). Safe to run again.
CREATE DATABASE IF NOT EXISTS dailyfresh CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS 'dailyfresh'@'localhost' IDENTIFIED BY 'dailyfresh';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX, REFERENCES ON dailyfresh.* TO 'dailyfresh'@'localhost';
