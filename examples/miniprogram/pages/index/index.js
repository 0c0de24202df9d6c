// ============ pages/index/index.js ============
// One page, one button per task: order + pay, query, ledger view, close, refund,
// claim a payout, query the transfer. Every answer is unwrapped the documented way
// (res.data?.data || res.data) and every refusal is shown with its msg.
const app = getApp()

// The answer's payload: the envelope's data.data (status-wrapped), or data itself.
function unwrap(res) {
  return res.data?.data || res.data
}

function newNo(prefix) {
  return prefix + Date.now() + Math.floor(Math.random() * 1000)
}

Page({
  data: {
    amount: 20,
    outTradeNo: '',
    outRefundNo: '',
    outBillNo: '',
    allowanceId: '',
    tradeState: '',
    ledgerState: '',
    refundStatus: '',
    transferState: '',
    message: '',
    error: '',
  },

  // Shows a refusal: its msg (and its stable error code).
  refused(action, res) {
    const msg = (res && res.msg) || 'failed'
    this.setData({ error: `${action}: ${msg}${res && res.error ? ' (' + res.error + ')' : ''}`, message: '' })
    wx.showToast({ title: msg, icon: 'none' })
    return null
  },

  // Calls one route; answers the payload, or null after showing the refusal.
  async call(action, route, data) {
    let res
    try {
      res = await app.callPayCommon(route, data)
    } catch (err) {
      return this.refused(action, err)
    }
    if (res.code !== 0) return this.refused(action, res)
    this.setData({ error: '' })
    return unwrap(res) || {}
  },

  // 1. Order, then wx.requestPayment; after success, the recommended query 1–2 s later.
  async onOrder() {
    const out_trade_no = newNo('MP')
    this.setData({ outTradeNo: out_trade_no, tradeState: '', ledgerState: '', refundStatus: '' })
    const p = await this.call('Order', 'wxpay_order', {
      description: 'Test product',
      out_trade_no,
      amount: { total: this.data.amount, currency: 'CNY' },
    })
    if (!p) return
    this.setData({ message: `Order ${out_trade_no} placed; paying…` })
    const paid = await new Promise((resolve) => {
      wx.requestPayment({
        timeStamp: String(p.timeStamp),
        nonceStr: p.nonceStr,
        package: p.package,
        signType: p.signType || 'RSA',
        paySign: p.paySign,
        success: () => resolve(true),
        fail: (err) => {
          const cancelled = err && /cancel/.test(err.errMsg || '')
          this.setData({ error: cancelled ? 'Payment cancelled' : `Payment failed: ${(err && err.errMsg) || ''}` })
          resolve(false)
        },
      })
    })
    if (!paid) return
    // The server's callback decides; the page only confirms by querying a moment later.
    this.setData({ message: 'Paid; confirming with the server…' })
    await new Promise((resolve) => setTimeout(resolve, 1500))
    await this.onQuery()
  },

  // 2. Ask WeChat (through the service) for the order's state.
  async onQuery() {
    if (!this.data.outTradeNo) return this.refused('Query', { msg: 'place an order first' })
    const d = await this.call('Query', 'wxpay_query_order_by_out_trade_no', { out_trade_no: this.data.outTradeNo })
    if (!d) return
    this.setData({ tradeState: d.trade_state, message: `WeChat says: ${d.trade_state}` })
  },

  // 3. The ledger's view (state after callbacks, refunded amount).
  async onView() {
    if (!this.data.outTradeNo) return this.refused('View', { msg: 'place an order first' })
    const d = await this.call('View', 'wxpay_order_view', { out_trade_no: this.data.outTradeNo })
    if (!d) return
    this.setData({ ledgerState: d.state, message: `Ledger: ${d.state}, refunded ${d.refunded || 0}` })
  },

  // 4. Close an unpaid order (after the user gave up).
  async onClose() {
    if (!this.data.outTradeNo) return this.refused('Close', { msg: 'place an order first' })
    const d = await this.call('Close', 'wxpay_close_order', { out_trade_no: this.data.outTradeNo })
    if (!d) return
    this.setData({ message: `Order ${this.data.outTradeNo} closed` })
  },

  // 5. Refund my own paid order in full (needs refundPolicy=owner-full on the service).
  async onRefund() {
    if (!this.data.outTradeNo) return this.refused('Refund', { msg: 'place an order first' })
    const out_refund_no = newNo('RF')
    const d = await this.call('Refund', 'wxpay_refund', {
      out_trade_no: this.data.outTradeNo,
      out_refund_no,
      amount: { refund: this.data.amount, total: this.data.amount, currency: 'CNY' },
    })
    if (!d) return
    this.setData({ outRefundNo: out_refund_no, refundStatus: d.status, message: `Refund ${out_refund_no}: ${d.status}` })
  },

  // 6. Claim a payout the merchant granted me, and confirm it in WeChat.
  async onClaim() {
    const d = await this.call('Claim', 'wxpay_transfer', {})
    if (!d) return
    this.setData({ outBillNo: d.out_bill_no, allowanceId: d.allowance_id || '', transferState: d.state })
    await new Promise((resolve) => {
      wx.requestMerchantTransfer({
        mchId: d.mchId,
        appId: d.appId,
        package: d.package_info,
        success: () => {
          this.setData({ message: `Payout ${d.out_bill_no} confirmed; ${d.remaining} left` })
          resolve()
        },
        fail: (err) => {
          this.setData({ error: `Confirmation failed: ${(err && err.errMsg) || ''}` })
          resolve()
        },
      })
    })
  },

  // 7. The transfer's state.
  async onTransferQuery() {
    if (!this.data.outBillNo) return this.refused('Transfer query', { msg: 'claim a payout first' })
    const d = await this.call('Transfer query', 'wxpay_transfer_bill_query', { out_bill_no: this.data.outBillNo })
    if (!d) return
    this.setData({ transferState: d.state, message: `Transfer: ${d.state}` })
  },
})
