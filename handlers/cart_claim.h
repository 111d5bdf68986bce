/* Cart lines claimed by an order being placed.
 *
 * /order/commit moves the lines it orders out of cart_<uid> into a claim
 * record, cart_claim_<order_id> (a hash: "uid" and sku id -> count), in one
 * script, and indexes the order id in the sorted set cart_claims by the
 * Redis clock's seconds. Exactly one commit can take a line; the others find
 * it gone. After COMMIT the claim is dropped; on any refusal or failure the
 * lines are given back, added to whatever the cart holds by then.
 *
 * A commit that never finished (its worker killed, Redis lost at the end,
 * a COMMIT whose outcome is unknown) leaves its claim behind. The mule
 * settles every claim older than dailyfresh-order-claim-age: when its order
 * exists in df_order_info the claim is dropped, else its lines are given
 * back. Either way once: the release is one script that acts only while the
 * claim exists. */
#ifndef DF_CART_CLAIM_H
#define DF_CART_CLAIM_H

#include <stddef.h>

#include "req.h"

#define CART_CLAIMS_KEY "cart_claims"
#define CART_CLAIM_SWEEP_BATCH 100 /* claims settled per round */
#define CART_CLAIM_SWEEP_ROUNDS 20 /* rounds per tick at most */

/* Takes skus[0..n) out of cart_<uid> into order_id's claim, all or none.
 * 0 claimed (counts[i] the cart's count of skus[i]); 1 skus[*missing] held
 * no count (1..CART_COUNT_MAX), nothing taken; -1 failure (recorded; the
 * claim may exist, and the sweep settles it). */
int cart_claim_take(struct df_req *r, long long uid, const char *order_id, size_t n, const long long *skus,
                    long long *counts, size_t *missing);

/* Ends order_id's claim: give_back 1 adds its lines back to the cart, 0
 * drops them (the order stands). 1 done, 0 no such claim (settled
 * already), -1 failure (recorded; the claim stays for the sweep). */
int cart_claim_release(struct df_req *r, const char *order_id, int give_back);

/* Moves a claim to a new order id (the first one was taken). 1 moved, 0 no
 * such claim, -1 failure (recorded). */
int cart_claim_rename(struct df_req *r, const char *from, const char *to);

/* One round of the mule's sweep: settles up to batch claims older than
 * age_s seconds. Returns how many were settled (*given_back of them gave
 * their lines back), or -1 on failure (logged; retried next tick). r must
 * be fresh (req_init) and is not released here. */
int cart_claim_sweep(struct df_req *r, long age_s, long batch, int *given_back);

/* What the mule runs on each timer tick: rounds of cart_claim_sweep on a
 * fresh r until one finds less than a batch, one log line when it settled
 * anything. Returns the number settled, -1 if the first round failed. */
int cart_claim_tick(struct df_req *r, struct df_app *app);

#endif
