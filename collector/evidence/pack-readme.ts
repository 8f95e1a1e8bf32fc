// The README inside every evidence pack, in Vietnamese and English: how to check it without songcheck.
export const PACK_README: Record<'vi' | 'en', string> = {
  vi: `GÓI BẰNG CHỨNG SONGCHECK

Tệp này chứa mọi thứ cần để tự kiểm tra kết luận (ĐẠT / KHÔNG ĐẠT / CHƯA ĐỦ BẰNG CHỨNG) của một điểm trường trong một kỳ,
mà không phải tin vào máy chủ của Sở:
- các kết quả đo nguyên gốc, mỗi kết quả được thiết bị đo ký bằng khoá Ed25519 riêng của nó;
- nhật ký theo ngày, mỗi dòng chứa mã băm SHA-256 của dòng trước (chuỗi băm), và mã băm cuối ngày đã ghi nhận;
- khoá công khai của từng thiết bị và các mục nhật ký quản trị (ghi danh, đăng ký khoá, thu hồi);
- lịch học, hồ sơ chỉ tiêu, phương pháp tính và kết luận của hệ thống với từng tiêu chí.

Cách kiểm tra: cài Node.js 20 (không cần cài thêm gì), rồi chạy
    node songcheck-verify.mjs TEN-GOI.jsonl
Chương trình kiểm tra mọi chữ ký và chuỗi băm, tính lại từng tiêu chí từ kết quả gốc cùng lịch học và hồ sơ chỉ tiêu
đi kèm, và in ra "OK" nếu kết luận trùng khớp, hoặc chỉ rõ vị trí sai lệch (ngày, dòng, tiêu chí).
Nên so các mã băm cuối ngày in ra với bản mà bên thứ ba đã nhận (webhook/kênh cảnh báo) vào ngày đó.
Định dạng được mô tả đầy đủ trong docs/evidence.md để có thể viết lại trình kiểm tra bằng ngôn ngữ khác.

Chữ ký chứng minh: kết quả do đúng thiết bị đã ghi danh tại điểm trường này tạo ra và không bị sửa sau đó.
Chữ ký KHÔNG chứng minh: rằng máy tính của trường không bị can thiệp trước khi ký (người có quyền quản trị máy đó có thể
dùng khoá của nó).`,
  en: `SONGCHECK EVIDENCE PACK

This file holds everything needed to check a school site's verdict (PASS / FAIL / INSUFFICIENT EVIDENCE) for one period
without trusting the province's servers:
- the raw results, each signed by the measuring device with its own Ed25519 key;
- the per-day log, each line carrying the SHA-256 of the line before it (a hash chain), and the recorded daily heads;
- each device's public key and the administrative audit entries (enrollment, key registration, revocation);
- the school calendar, the target profile, the method and the collector's verdict with every criterion.

To check it: install Node.js 20 (nothing else), then run
    node songcheck-verify.mjs PACK-NAME.jsonl
It checks every signature and the chain, recomputes every criterion from the raw results with the included calendar and
profile, and prints "OK" when the verdict is the same, or exactly where it differs (day, line, criterion).
Compare the daily heads it prints with the copy a third party received (webhook or alert channel) on that day.
The format is specified in docs/evidence.md so that the verifier can be rewritten in another language.

What a signature proves: the result was made by the device enrolled at this site and not changed afterwards.
What it does NOT prove: that the school's computer was not tampered with before signing (whoever administers that
computer can use its key).`,
};
