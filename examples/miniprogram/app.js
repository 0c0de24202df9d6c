// ============ app.js ============
// ⚠️ Replace both before importing into WeChat DevTools:
const ENV_ID = 'your-env-id' // CloudBase env ID (console → Environment Overview)
const FUNCTION_NAME = 'pay-common' // the real HTTP function name the Integration Center generated

App({
  globalData: {
    envId: ENV_ID,
    functionName: FUNCTION_NAME,
  },

  onLaunch() {
    if (ENV_ID === 'your-env-id') {
      wx.showModal({
        title: 'Configuration not complete',
        content: 'Replace ENV_ID (and FUNCTION_NAME) at the top of app.js',
        showCancel: false,
      })
      return
    }
    // callHTTPFunction needs wx.cloud.init first (base library ≥ 3.15.2)
    wx.cloud.init({ env: ENV_ID, traceUser: true })
  },

  // POST /wx-pay/<route> through wx.cloud.callHTTPFunction; the platform injects x-wx-openid.
  // Resolves with our envelope { code, msg, data, error } whatever the HTTP status.
  callPayCommon(route, data) {
    const { functionName, envId } = this.globalData
    return new Promise((resolve, reject) => {
      wx.cloud.callHTTPFunction({
        name: functionName,
        config: { env: envId },
        method: 'POST',
        header: { 'Content-Type': 'application/json' },
        path: `/wx-pay/${route}`,
        data: data || {},
        success(res) {
          const body = res.data && typeof res.data === 'object' ? res.data : {}
          if (body.code === undefined) {
            body.code = res.statusCode >= 200 && res.statusCode < 300 ? 0 : -1
            body.msg = body.msg || `HTTP ${res.statusCode}`
          }
          resolve(body)
        },
        fail(err) {
          reject({ code: -1, msg: (err && err.errMsg) || 'callHTTPFunction failed' })
        },
      })
    })
  },
})
