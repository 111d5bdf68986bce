/* The consumer that writes flash-sale orders from the sales' Redis streams
 * to MariaDB (docs/orders.md#flash-sales): a thread of the instance's mule
 * with a Redis and a MariaDB connection of its own. uWSGI-free: the plugin
 * starts it after fork and stops it at exit. */
#ifndef DF_FLASH_SALE_PERSIST_H
#define DF_FLASH_SALE_PERSIST_H

#include "req.h"

/* Starts the thread on a copy of app's options; consumer names it in the
 * streams' group (unique per process: host, instance, pid). First it
 * reconciles every sale of flash_sales and every sale on in MariaDB. 0, or
 * -1 when the thread could not be made (logged). */
int flash_persist_start(const struct df_app *app, const char *consumer);

/* Asks the thread to stop and waits for it at most about a second more
 * than one XREADGROUP block; a thread still busy then dies with the
 * process (its batch stays pending for another consumer). */
void flash_persist_stop(void);

#endif
