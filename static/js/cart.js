/* The cart: /cart/ (GET /api/cart). Per-line +/- and count input
 * (POST /cart/update), delete (POST /cart/delete), selection and the
 * totals of the selected lines, checkout with the selected sku_ids. */
(function () {
  'use strict';
  var esc = DF.esc;
  var box = document.getElementById('cart');

  function toLogin() {
    location.href = '/user/login?next=' + encodeURIComponent(location.pathname + location.search);
  }

  function lines() { return Array.prototype.slice.call(box.querySelectorAll('tr.cart-line')); }

  function row(it) {
    var offline = Number(it.status) === 0;
    var href = '/goods/' + encodeURIComponent(it.id);
    return '<tr class="cart-line' + (offline ? ' offline' : '') + '" data-sku="' + esc(it.id) + '" data-price="' + DF.cents(it.price) +
      '" data-count="' + esc(it.count) + '" data-stock="' + esc(it.stock) + '">' +
      '<td class="col-select"><input type="checkbox" class="select" aria-label="选择"' + (offline ? ' disabled' : ' checked') + '></td>' +
      '<td class="col-goods"><a href="' + href + '" class="thumb"><img src="' + esc(DF.image(it.image)) + '" alt=""></a>' +
        '<a href="' + href + '" class="name">' + esc(it.name) + '</a>' + (offline ? ' <span class="tag">已下架</span>' : '') + '</td>' +
      '<td class="col-price" data-label="单价">¥<span class="price">' + esc(it.price) + '</span>/' + esc(it.unite) + '</td>' +
      '<td class="col-count" data-label="数量"><span class="qty">' +
        '<button type="button" class="dec secondary" aria-label="减少">-</button>' +
        '<input type="text" class="count" inputmode="numeric" value="' + esc(it.count) + '" aria-label="数量">' +
        '<button type="button" class="inc secondary" aria-label="增加">+</button></span></td>' +
      '<td class="col-amount" data-label="小计">¥<span class="amount">' + esc(it.amount) + '</span></td>' +
      '<td class="col-op"><a href="#" class="delete">删除</a></td></tr>';
  }

  function render(a) {
    var items = a.items || [];
    if (!items.length) {
      box.innerHTML = '<p class="empty">购物车里还没有商品，<a href="/">去逛逛</a></p>';
      return;
    }
    box.innerHTML =
      '<p>全部商品 <em id="cart-total">' + esc(a.total_count) + '</em> 件</p>' +
      '<table class="list stack cart-table"><thead><tr><th>选择</th><th>商品</th><th>单价</th><th>数量</th><th>小计</th><th>操作</th></tr></thead>' +
      '<tbody>' + items.map(row).join('') + '</tbody></table>' +
      '<div class="settle"><label class="select-all"><input type="checkbox" id="select-all" checked> 全选</label>' +
      '<span>已选 <em id="total-count">0</em> 件，合计(不含运费)：¥<em id="total-price" class="price">0.00</em></span>' +
      '<a id="checkout" class="button" href="/order/place">去结算</a></div>';
    totals();
  }

  /* Cents past 2^53 are no longer exact in a JavaScript number: such an
   * amount is not shown (the API flags it too: amount_too_large). */
  var TOO_LARGE = '金额过大';
  function amountText(c) {
    return Number.isSafeInteger(c) ? DF.money(c) : TOO_LARGE;
  }

  /* The totals of the selected lines, the select-all box, the checkout link. */
  function totals() {
    var count = 0, cents = 0, ids = [], selectable = 0, selected = 0;
    lines().forEach(function (tr) {
      var cb = tr.querySelector('input.select');
      var n = Number(tr.getAttribute('data-count'));
      tr.querySelector('.amount').textContent = amountText(Number(tr.getAttribute('data-price')) * n);
      if (!tr.classList.contains('busy')) tr.querySelector('button.dec').disabled = n <= 1;
      if (!cb.disabled) selectable++;
      if (cb.checked && !cb.disabled) {
        selected++; count += n; cents += Number(tr.getAttribute('data-price')) * n;
        ids.push(tr.getAttribute('data-sku'));
      }
    });
    var all = document.getElementById('select-all');
    if (!all) return;
    all.checked = selectable > 0 && selected === selectable;
    all.indeterminate = selected > 0 && selected < selectable;
    document.getElementById('total-count').textContent = String(count);
    document.getElementById('total-price').textContent = amountText(cents);
    var co = document.getElementById('checkout');
    co.href = '/order/place?sku_ids=' + ids.join(',');
    co.classList.toggle('disabled', !ids.length);
    co.setAttribute('aria-disabled', ids.length ? 'false' : 'true');
  }

  function cartTotal(n) {
    DF.cartCount(n);
    var el = document.getElementById('cart-total');
    if (el) el.textContent = String(n);
  }

  function busy(tr, on) {
    tr.classList.toggle('busy', on);
    Array.prototype.forEach.call(tr.querySelectorAll('button, input.count'), function (el) { el.disabled = on; });
  }

  /* Sets a line's count; on refusal the input goes back to the last good count. */
  function update(tr, count) {
    var input = tr.querySelector('input.count');
    var good = tr.getAttribute('data-count');
    if (tr.classList.contains('busy')) return;
    if (!/^\d+$/.test(String(count)) || Number(count) < 1) {
      input.value = good;
      DF.message('请输入正确的商品数量');
      return;
    }
    count = String(Number(count));
    if (count === good) { input.value = good; return; }
    busy(tr, true);
    DF.api('POST', '/cart/update', { sku_id: tr.getAttribute('data-sku'), count: count }).then(function (a) {
      if (a.res === 5) {
        tr.setAttribute('data-count', count);
        input.value = count;
        cartTotal(a.total_count);
        DF.message('');
      } else {
        input.value = good;
        if (a.res === 0) return toLogin();
        DF.message(a.errmsg || '更新失败');
      }
    }).catch(function (err) {
      input.value = good;
      DF.message(err.message);
    }).then(function () {
      busy(tr, false);
      totals();
    });
  }

  function remove(tr) {
    if (tr.classList.contains('busy')) return;
    busy(tr, true);
    DF.api('POST', '/cart/delete', { sku_id: tr.getAttribute('data-sku') }).then(function (a) {
      if (a.res === 3) {
        tr.parentNode.removeChild(tr);
        cartTotal(a.total_count);
        DF.message('');
        if (!lines().length) render({ items: [] });
        else totals();
        return;
      }
      busy(tr, false);
      if (a.res === 0) return toLogin();
      DF.message(a.errmsg || '删除失败');
    }).catch(function (err) {
      busy(tr, false);
      DF.message(err.message);
    });
  }

  box.addEventListener('click', function (e) {
    var tr = e.target.closest('tr.cart-line');
    if (e.target.id === 'checkout') {
      if (e.target.classList.contains('disabled')) { e.preventDefault(); DF.message('请先选择要结算的商品'); }
      return;
    }
    if (!tr) return;
    var n = Number(tr.getAttribute('data-count'));
    if (e.target.closest('button.inc')) update(tr, n + 1);
    else if (e.target.closest('button.dec')) { if (n > 1) update(tr, n - 1); }
    else if (e.target.closest('a.delete')) { e.preventDefault(); remove(tr); }
  });
  box.addEventListener('change', function (e) {
    var t = e.target;
    if (t.id === 'select-all') {
      lines().forEach(function (tr) {
        var cb = tr.querySelector('input.select');
        if (!cb.disabled) cb.checked = t.checked;
      });
      totals();
    } else if (t.classList.contains('select')) {
      totals();
    } else if (t.classList.contains('count')) {
      update(t.closest('tr.cart-line'), t.value.trim());
    }
  });
  box.addEventListener('keydown', function (e) {
    if (e.key === 'Enter' && e.target.classList.contains('count')) e.target.blur();
  });

  DF.header();
  DF.requireLogin().then(function (u) {
    if (!u) return null;
    return DF.api('GET', '/api/cart').then(function (a) {
      if (a.res === 0) return toLogin();
      if (a.res !== 1) throw new Error(a.errmsg || '购物车加载失败');
      render(a);
    });
  }).catch(function (err) {
    DF.message(err.message);
    box.innerHTML = '';
  });
})();
