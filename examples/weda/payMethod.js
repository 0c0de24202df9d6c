/**
 * WeDa page method: a complete payment (order → wx.requestPayment → confirming query).
 * Paste into WeDa: page → Methods → Custom Method. Doc: https://cloud.tencent.com/document/product/1301/57912
 * No $w.auth, no accessToken: callHTTPFunction injects the user's openid (x-wx-openid).
 */
const FUNCTION_NAME = 'pay-common' // ⚠️ Replace: the real function name the Integration Center generated
const ENV_ID = 'your-env-id' // ⚠️ Replace: CloudBase env ID

function callPayCommon(route, data) {
  return new Promise((resolve, reject) => {
    wx.cloud.callHTTPFunction({
      name: FUNCTION_NAME,
      config: { env: ENV_ID },
      method: 'POST',
      header: { 'Content-Type': 'application/json' },
      path: `/wx-pay/${route}`,
      data,
      success: (res) => resolve(res.data || {}), // our envelope { code, msg, data, error }
      fail: reject,
    })
  })
}

export default async function ({ event, data }) {
  const out_trade_no = 'ORDER_' + Date.now()
  const total = (data && data.total) || 20 // fen
  const body = await callPayCommon('wxpay_order', {
    description: (data && data.description) || 'Test product',
    out_trade_no,
    amount: { total, currency: 'CNY' },
  })
  if (body.code !== 0) {
    wx.showToast({ title: body.msg || 'Order failed', icon: 'none' })
    return { out_trade_no, error: body.error, msg: body.msg }
  }
  const p = body.data?.data || body.data // { timeStamp, nonceStr, package, signType, paySign }
  const paid = await new Promise((resolve) => {
    wx.requestPayment({
      timeStamp: String(p.timeStamp),
      nonceStr: p.nonceStr,
      package: p.package,
      signType: p.signType || 'RSA',
      paySign: p.paySign,
      success: () => resolve({ ok: true }),
      fail: (err) => resolve({ ok: false, msg: (err && err.errMsg) || 'payment failed' }),
    })
  })
  if (!paid.ok) {
    wx.showToast({ title: /cancel/.test(paid.msg) ? 'Payment cancelled' : paid.msg, icon: 'none' })
    return { out_trade_no, msg: paid.msg }
  }
  // The server's callback decides; confirm 1–2 s later with a query (reads .data.data, not .data).
  await new Promise((resolve) => setTimeout(resolve, 1500))
  const q = await callPayCommon('wxpay_query_order_by_out_trade_no', { out_trade_no })
  if (q.code !== 0) {
    wx.showToast({ title: q.msg || 'Query failed', icon: 'none' })
    return { out_trade_no, error: q.error, msg: q.msg }
  }
  const order = q.data?.data || q.data
  wx.showToast({ title: order.trade_state === 'SUCCESS' ? 'Paid' : order.trade_state, icon: 'success' })
  return { out_trade_no, trade_state: order.trade_state }
}
