// ============ app.js (cloud hosting / Dockerfile deployment) ============
// ⚠️ Replace both before importing into WeChat DevTools:
const ENV_ID = 'your-env-id' // CloudBase env ID (console → Environment Overview)
const FUNCTION_NAME = 'pay-common' // the cloud hosting SERVICE name (sent as X-WX-SERVICE)

App({
  globalData: {
    envId: ENV_ID,
    functionName: FUNCTION_NAME,
  },

  onLaunch() {
    if (ENV_ID === 'your-env-id') {
      wx.showModal({
        title: 'Configuration not complete',
        content: 'Replace ENV_ID (and FUNCTION_NAME, the service name) at the top of app.js',
        showCancel: false,
      })
      return
    }
    wx.cloud.init({ env: ENV_ID, traceUser: true })
  },

  // POST /wx-pay/<route> through wx.cloud.callContainer; the platform injects x-wx-openid.
  // Resolves with our envelope { code, msg, data, error } whatever the HTTP status.
  callPayCommon(route, data) {
    const { functionName, envId } = this.globalData
    return new Promise((resolve, reject) => {
      wx.cloud.callContainer({
        config: { env: envId },
        path: `/wx-pay/${route}`,
        method: 'POST',
        header: {
          'X-WX-SERVICE': functionName,
          'content-type': 'application/json',
        },
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
          reject({ code: -1, msg: (err && err.errMsg) || 'callContainer failed' })
        },
      })
    })
  },
})
